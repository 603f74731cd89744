import { createHash } from 'node:crypto';

/**
 * Hand-builds safetensors bytes from a header object and a data section, computing a correct
 * checksum unless one is given, so tests can produce files the encoder would never write.
 */
export function rawCheckpoint(tensors: Record<string, unknown>, data: Uint8Array, metadata: Record<string, unknown> = {}): Buffer {
  const header = {
    __metadata__: {
      format: 'gradmesh-checkpoint',
      version: '1',
      sha256: createHash('sha256').update(data).digest('hex'),
      meta: '{}',
      ...metadata,
    },
    ...tensors,
  };
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const out = Buffer.alloc(8 + json.length + data.length);
  out.writeBigUInt64LE(BigInt(json.length), 0);
  json.copy(out, 8);
  Buffer.from(data).copy(out, 8 + json.length);
  return out;
}
