import { createHash } from 'node:crypto';
import { readFileSync, readlinkSync, statSync } from 'node:fs';
import { SEGMENT_DIR } from './segment.js';

/**
 * Note [same host]
 * Two ranks may share memory only when they run on one kernel, see the same tmpfs at /dev/shm, and sit in the same
 * network namespace. The last condition is a choice: processes in separate network namespaces are how gradmesh's
 * scaling experiments emulate separate hosts with shaped links (experiment/), and two containers of one
 * Kubernetes pod share theirs, while two pods on one node do not — so the links, not memory, carry their bytes,
 * as they would between machines. The key is a hash of the kernel's boot id, the device and inode of /dev/shm and
 * the network namespace's inode; equal keys still prove nothing on their own: the peer's segment must also carry
 * the nonce its creator announced (Note [a segment per rank and generation] in segment.ts).
 */
export function hostKey(dir = SEGMENT_DIR): string {
  const parts: string[] = [];
  parts.push(readOr('/proc/sys/kernel/random/boot_id'));
  try {
    const s = statSync(dir, { bigint: true });
    parts.push(`${s.dev}:${s.ino}`);
  } catch {
    parts.push('no-shm');
  }
  try {
    parts.push(readlinkSync('/proc/self/ns/net'));
  } catch {
    parts.push('no-netns');
  }
  return createHash('sha256').update(parts.join('\n')).digest('hex');
}

function readOr(path: string): string {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return `no ${path}`;
  }
}
