/**
 * Whether a WebSocket handshake's Origin may connect. By default only the page this server served: the
 * Origin's host must be the Host the browser used (a page on another site cannot read the run through the
 * visitor's browser). A client that sends no Origin is not a browser (curl, a script) and may connect.
 * `allowed` adds origins (`*` allows any).
 */
export function originAllowed(origin: string | undefined, host: string | undefined, allowed: readonly string[] = []): boolean {
  if (origin === undefined) return true;
  if (allowed.includes('*') || allowed.includes(origin)) return true;
  if (host === undefined) return false;
  try {
    const url = new URL(origin);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.host === host;
  } catch {
    return false;
  }
}
