import type { z } from 'zod';
import { ConfigError, PreflightError } from '../errors.js';
import { didYouMean } from '../preflight/did-you-mean.js';
import type { ValidationScope } from './validate.js';
import { HINT_SEPARATOR } from './schema-parts.js';
import { fieldPath } from './validate.js';

/**
 * Parses a value with a config schema and turns each problem into the one-line ConfigError users
 * know: the file, the field path (`model.layers[2].units`), what is wrong and the value found.
 *
 * Messages are written here, per issue code, instead of taken from zod, so that every schema speaks
 * the same terse language ("must be ≥ 1", "is not a known option") and a schema only states a message
 * where the generic one would be vague (those reach us as `issue.message` through the schema's own
 * `error` option, which zod applies before this module's map).
 */
export function parseWithSchema<S extends z.ZodType>(schema: S, value: unknown, scope: ValidationScope): z.output<S> {
  const result = schema.safeParse(value, { error: messageFor });
  if (result.success) return result.data;
  throw configErrorFrom(result.error.issues, value, scope);
}

type Issue = z.core.$ZodIssue;

/**
 * Every problem of the value, one ConfigError each; one problem is thrown as itself, several as a
 * PreflightError listing them all (Note [all problems at once]).
 *
 * Note [all problems at once]: a user fixing a config one error per run pays a run per typo, so every
 * issue is reported — except a required key missing from an object that also holds an unknown key:
 * a misspelt "unit" leaves "units" missing, and the typo (with its "did you mean") is the one thing
 * to fix. Identical lines (a union can report one problem through several branches) are kept once.
 */
function configErrorFrom(issues: readonly Issue[], root: unknown, scope: ValidationScope): ConfigError {
  const typoAt = new Set(issues.filter((i) => i.code === 'unrecognized_keys').map((i) => pathKey(i.path)));
  const errors: ConfigError[] = [];
  const seen = new Set<string>();
  for (const issue of [...issues].sort((a, b) => Number(b.code === 'unrecognized_keys') - Number(a.code === 'unrecognized_keys'))) {
    const leaf = leafOf(issue);
    if (leaf.code !== 'unrecognized_keys' && leaf.path.length > 0 && typoAt.has(pathKey(leaf.path.slice(0, -1))) && !valueAt(root, leaf.path).found) continue;
    const error = errorOf(leaf, root, scope);
    if (seen.has(error.message)) continue;
    seen.add(error.message);
    errors.push(error);
  }
  return errors.length === 1 ? errors[0]! : new PreflightError(errors);
}

/** The issue of a union branch that says most: an unknown key first (see Note [all problems at once]), else zod's first. */
function firstIssue(issues: readonly Issue[]): Issue {
  return issues.find((i) => i.code === 'unrecognized_keys') ?? issues[0]!;
}

const pathKey = (path: readonly PropertyKey[]): string => JSON.stringify(path.map(String));

function errorOf(issue: Issue, root: unknown, scope: ValidationScope): ConfigError {
  const at = issue.path.reduce<ValidationScope>((s, key) => ({ ...s, path: fieldPath(s, key as string | number) }), scope);
  const field = at.path || '(root)';
  const file = scope.file === undefined ? {} : { file: scope.file };
  const present = valueAt(root, issue.path);
  const { message, hint } = messageAndHint(issue, issue.code === 'unrecognized_keys' ? issue.keys[0] : present.value);
  const hinted = hint === undefined ? {} : { hint };
  if (issue.code === 'unrecognized_keys') {
    // The first unknown key is named as the field; its value is not interesting (the name is the typo).
    return new ConfigError(fieldPath(at, issue.keys[0]!), message, { ...hinted, ...file });
  }
  const missing = !present.found || present.value === undefined;
  // A union's own message describes wrong values; for a missing key the point is that it is required.
  const text = missing && (issue.code === 'invalid_type' || issue.code === 'invalid_union') && !message.startsWith('is required') ? 'is required' : message;
  return new ConfigError(field, text, { ...(missing ? {} : { value: present.value }), ...(text === message ? hinted : {}), ...file });
}

/**
 * For a union (`"pool"` or `{ "type": "pool" }`), the branch the value was meant for: the one whose
 * problem lies deeper than the value itself, or whose root problem is a bound (`0` for a positive
 * integer), not a mismatch. Without such a branch the union's own message stands.
 */
function leafOf(issue: Issue): Issue {
  if (issue.code !== 'invalid_union' || issue.errors.length === 0) return issue;
  const branches = issue.errors.map((errors) => firstIssue(errors));
  const meant = branches.find((i) => i.path.length > 0) ?? branches.find((i) => !MISMATCH.has(i.code));
  if (meant === undefined) return issue;
  return leafOf({ ...meant, path: [...issue.path, ...meant.path] } as Issue);
}

/** Root problems that only say "not this branch" (wrong type, other literal), not "this branch, but wrong". */
const MISMATCH = new Set<string>(['invalid_type', 'invalid_value', 'invalid_union']);

function valueAt(root: unknown, path: readonly PropertyKey[]): { found: boolean; value?: unknown } {
  let v: unknown = root;
  for (const key of path) {
    if (typeof v !== 'object' || v === null || !Object.hasOwn(v, key)) return { found: false };
    v = (v as Record<PropertyKey, unknown>)[key];
  }
  return { found: true, value: v };
}

/**
 * Schemas attach a hint to their own message with `hinted()` (zod carries only a message from a
 * schema's `error` option); it is split off here. A discriminator that matched nothing lists the
 * known tags.
 */
function messageAndHint(issue: Issue, written: unknown): { message: string; hint?: string } {
  const [message = '', hint] = issue.message.split(HINT_SEPARATOR);
  if (hint !== undefined) return { message, hint: withSuggestion(hint, written) };
  const options = (issue as { options?: readonly unknown[] }).options;
  if (issue.code === 'invalid_union' && options !== undefined && !message.startsWith('must be one of')) {
    return { message, hint: withSuggestion(`known: ${list(options)}`, written) };
  }
  // A tag or enum whose message lists the choices itself: only the suggestion is added.
  const choices = issue.code === 'invalid_value' ? issue.values : issue.code === 'invalid_union' ? options : undefined;
  if (choices !== undefined && typeof written === 'string') {
    const suggestion = didYouMean(written, choices.filter((v): v is string => typeof v === 'string'));
    if (suggestion !== undefined) return { message, hint: suggestion };
  }
  return { message };
}

/** A hint listing the names a field accepts ("known: …", "allowed: …") gains "did you mean" for a near miss. */
function withSuggestion(hint: string, written: unknown): string {
  const listed = /^(?:known|allowed): (.*)$/.exec(hint);
  if (listed === null || typeof written !== 'string') return hint;
  const suggestion = didYouMean(written, listed[1]!.split(', '));
  return suggestion === undefined ? hint : `${suggestion} ${hint}`;
}

/** Listed choices; an optional discriminator's `undefined` is not one a user can write. */
const list = (values: readonly unknown[]): string => values.filter((v) => v !== undefined).map(String).join(', ');

/** The generic message of each issue code (a schema's own `error` option takes precedence). */
function messageFor(issue: z.core.$ZodRawIssue): string {
  const absent = issue.input === undefined;
  switch (issue.code) {
    case 'invalid_type':
      if (absent) return 'is required';
      switch (issue.expected) {
        case 'int': return 'must be an integer';
        case 'number': return 'must be a finite number';
        case 'boolean': return 'must be true or false';
        case 'string': return 'must be a non-empty string';
        case 'array': return 'must be an array';
        case 'object': return 'must be an object';
        default: return `must be ${issue.expected}`;
      }
    case 'too_small':
      if (issue.origin === 'string') return 'must be a non-empty string';
      if (issue.origin === 'array') return `must have at least ${String(issue.minimum)} entries`;
      return issue.inclusive ? `must be ≥ ${String(issue.minimum)}` : `must be > ${String(issue.minimum)}`;
    case 'too_big':
      if (issue.origin === 'array') return `must have at most ${String(issue.maximum)} entries`;
      return issue.inclusive ? `must be ≤ ${String(issue.maximum)}` : `must be < ${String(issue.maximum)}`;
    case 'invalid_value':
      return absent ? `is required (one of ${list(issue.values)})` : `must be one of ${list(issue.values)}`;
    case 'invalid_union': {
      // A discriminated union reports a bad or missing tag on the tag's path, with the whole object as input.
      const { options, discriminator } = issue as { options?: readonly unknown[]; discriminator?: string };
      if (options !== undefined) {
        const input = issue.input as Record<string, unknown> | undefined;
        const missing = discriminator !== undefined && (typeof input !== 'object' || input === null || input[discriminator] === undefined);
        return missing ? `is required (one of ${list(options)})` : `must be one of ${list(options)}`;
      }
      return 'has none of the accepted forms';
    }
    case 'unrecognized_keys':
      return 'is not a known option';
    default:
      return issue.message ?? 'is not valid';
  }
}
