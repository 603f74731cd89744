/** Who a link belongs to. The secret is per generation (32 random bytes the coordinator sends in the assignment). */
export interface LinkIdentity {
  readonly runId: string;
  readonly generation: number;
  readonly rank: number;
  readonly worldSize: number;
  readonly secret: Uint8Array;
  /** 'tls': frames travel inside TLS keyed from the handshake (Note [encrypted links]); default 'none'. Both ends must agree. */
  readonly encryption?: 'none' | 'tls';
}

/** Longest run id a handshake carries (UTF-8 bytes); bounds the handshake's size. */
export const MAX_RUN_ID_BYTES = 256;

/** Key of one (run, generation): what the listener registers and holds connections by. */
export function generationKey(runId: string, generation: number): string {
  return `${generation}/${runId}`;
}

/** Why `identity` cannot be used for a link, or undefined when it can (checked where it enters: accept, dialPeer). */
export function identityProblem(identity: LinkIdentity): string | undefined {
  const { runId, generation, rank, worldSize, secret } = identity;
  if (typeof runId !== 'string' || runId.length === 0) return 'runId must be a non-empty string';
  if (Buffer.byteLength(runId, 'utf8') > MAX_RUN_ID_BYTES) return `runId must be at most ${MAX_RUN_ID_BYTES} UTF-8 bytes`;
  if (!isU32(generation)) return `generation must be an integer in [0, 2^32) (got ${generation})`;
  if (!isU32(worldSize) || worldSize < 2) return `worldSize must be an integer >= 2 (got ${worldSize})`;
  if (!isU32(rank) || rank >= worldSize) return `rank must be an integer in [0, ${worldSize}) (got ${rank})`;
  if (!(secret instanceof Uint8Array) || secret.byteLength < 16) return 'secret must be at least 16 bytes';
  if (identity.encryption !== undefined && identity.encryption !== 'none' && identity.encryption !== 'tls') return `encryption must be 'none' or 'tls' (got ${String(identity.encryption)})`;
  return undefined;
}

export function isU32(n: number): boolean {
  return Number.isInteger(n) && n >= 0 && n <= 0xffff_ffff;
}
