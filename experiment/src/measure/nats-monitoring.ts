import type { InterfaceBytes } from '../netns/emulated-network.js';

/**
 * A nats-server's message bytes from its HTTP monitoring port, for loopback runs (no interfaces to count).
 * With `routesOnly`, the bytes its routes carried (/routez): per-host, what would cross the host's link;
 * otherwise everything it received and sent (/varz): for the hub, its link.
 *
 * Message payload bytes only: NATS protocol lines and TCP/IP headers are not counted, unlike interface
 * counters (Note in topology/link-formulas.ts).
 */
export async function serverBytes(monitorUrl: string, routesOnly: boolean): Promise<InterfaceBytes> {
  if (!routesOnly) {
    const v = (await getJson(`${monitorUrl}/varz`)) as { in_bytes: number; out_bytes: number };
    return { rxBytes: v.in_bytes, txBytes: v.out_bytes };
  }
  const r = (await getJson(`${monitorUrl}/routez`)) as { routes?: { in_bytes: number; out_bytes: number }[] };
  let rx = 0;
  let tx = 0;
  for (const route of r.routes ?? []) {
    rx += route.in_bytes;
    tx += route.out_bytes;
  }
  return { rxBytes: rx, txBytes: tx };
}

async function getJson(url: string): Promise<unknown> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return res.json();
}
