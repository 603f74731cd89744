import type { SubjectPermissions } from './run-permissions.js';

/** One user of the nats-server `authorization` block: a password user or an nkey user (public key). */
export type ServerUser = ({ readonly user: string; readonly password: string } | { readonly nkey: string }) & { readonly permissions: SubjectPermissions };

/**
 * The nats-server `authorization { users: [...] }` block for `users`. Every string is JSON-quoted (the
 * nats-server config format accepts JSON strings), so `$`, `>` and `*` are taken literally, never as
 * variable references or syntax.
 */
export function authorizationBlock(users: readonly ServerUser[]): string {
  const q = (s: string) => JSON.stringify(s);
  const list = (xs: readonly string[]) => `[${xs.map(q).join(', ')}]`;
  const lines = users.map((u) => {
    const who = 'nkey' in u ? `nkey: ${q(u.nkey)}` : `user: ${q(u.user)}, password: ${q(u.password)}`;
    return `    { ${who}, permissions: { publish: { allow: ${list(u.permissions.publish)} }, subscribe: { allow: ${list(u.permissions.subscribe)} } } }`;
  });
  return `authorization {\n  users: [\n${lines.join('\n')}\n  ]\n}\n`;
}
