/** One sample's prediction: the k most probable classes, best first (ties: the lower class first, as argmax). */
export interface Prediction {
  readonly index: number;
  readonly top: readonly { readonly class: number; readonly probability: number }[];
  /** The label the data carried, when it has labels. */
  readonly label?: number;
}

/** The `k` largest entries of `row` as (class, probability), best first; a stable order for equal values. */
export function topK(row: ArrayLike<number>, k: number): Prediction['top'] {
  const classes = Array.from({ length: row.length }, (_, i) => i);
  classes.sort((a, b) => row[b]! - row[a]! || a - b);
  return classes.slice(0, k).map((c) => ({ class: c, probability: row[c]! }));
}

/** CSV: index, class, probability, then class_2, probability_2 … for k > 1, then label when known. */
export function predictionsCsv(predictions: readonly Prediction[], k: number, labelled: boolean): string {
  const header = ['index', 'class', 'probability'];
  for (let j = 2; j <= k; j++) header.push(`class_${j}`, `probability_${j}`);
  if (labelled) header.push('label');
  const lines = predictions.map((p) => {
    const cells: (number | string)[] = [p.index];
    for (const t of p.top) cells.push(t.class, t.probability.toPrecision(7));
    if (labelled) cells.push(p.label ?? '');
    return cells.join(',');
  });
  return `${header.join(',')}\n${lines.join('\n')}\n`;
}

export function predictionsJson(predictions: readonly Prediction[]): string {
  return `${JSON.stringify(predictions.map((p) => ({ index: p.index, class: p.top[0]!.class, probability: p.top[0]!.probability, top: p.top, ...(p.label === undefined ? {} : { label: p.label }) })), null, 1)}\n`;
}
