import type { Network } from './network.js';
import { sizeOf } from '../tensor/tensor.js';

/** The Keras-style table: layer (type), output shape, parameter count; then totals. */
export function summarize(network: Network): string {
  const rows: [string, string, string][] = [['Layer (type)', 'Output shape', 'Params']];
  let total = 0;
  let trainable = 0;
  for (const layer of network.layers) {
    let n = 0;
    for (const p of layer.params) {
      const size = sizeOf(p.shape);
      n += size;
      if (p.update.kind === 'gradient') trainable += size;
    }
    total += n;
    rows.push([`${layer.name} (${layer.type})`, `(batch, ${layer.outputShape.join(', ')})`, n.toLocaleString('en-US')]);
  }
  const widths = [0, 1, 2].map((c) => Math.max(...rows.map((r) => r[c]!.length)));
  const line = (r: [string, string, string]) => `${r[0].padEnd(widths[0]!)}  ${r[1].padEnd(widths[1]!)}  ${r[2].padStart(widths[2]!)}`;
  const rule = '─'.repeat(widths[0]! + widths[1]! + widths[2]! + 4);
  return [
    rule,
    line(rows[0]!),
    rule,
    ...rows.slice(1).map(line),
    rule,
    `Total params: ${total.toLocaleString('en-US')}  (trainable ${trainable.toLocaleString('en-US')}, running statistics ${(total - trainable).toLocaleString('en-US')})`,
    `Input: (batch, ${network.inputShape.join(', ')})`,
  ].join('\n');
}
