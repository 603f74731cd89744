/** One sample's prediction: the k most probable classes, best first (ties: the lower class first, as argmax). */
export interface Prediction {
  readonly index: number;
  readonly top: readonly { readonly class: number; readonly probability: number }[];
  /** The label the data carried, when it has labels. */
  readonly label?: number;
}

/** One sample's prediction of a regression model: the predicted value, and the target when the data has one. */
export interface ValuePrediction {
  readonly index: number;
  readonly value: number;
  readonly target?: number;
}

/** The `k` largest entries of `row` as (class, probability), best first; a stable order for equal values. */
export function topK(row: ArrayLike<number>, k: number): Prediction['top'] {
  const classes = Array.from({ length: row.length }, (_, i) => i);
  classes.sort((a, b) => row[b]! - row[a]! || a - b);
  return classes.slice(0, k).map((c) => ({ class: c, probability: row[c]! }));
}

/**
 * CSV: index, class, probability, then class_2, probability_2 … for k > 1, then label when known. With class
 * names (a model trained on string labels) each class number is followed by its name: class_name, class_name_2, …,
 * label_name.
 */
export function predictionsCsv(predictions: readonly Prediction[], k: number, labelled: boolean, classNames?: readonly string[]): string {
  const named = classNames !== undefined;
  const header = ['index', 'class', ...(named ? ['class_name'] : []), 'probability'];
  for (let j = 2; j <= k; j++) header.push(`class_${j}`, ...(named ? [`class_name_${j}`] : []), `probability_${j}`);
  if (labelled) header.push('label', ...(named ? ['label_name'] : []));
  const lines = predictions.map((p) => {
    const cells: (number | string)[] = [p.index];
    for (const t of p.top) cells.push(t.class, ...(named ? [csvCell(classNames[t.class]!)] : []), t.probability.toPrecision(7));
    if (labelled) cells.push(p.label ?? '', ...(named ? [p.label === undefined ? '' : csvCell(classNames[p.label]!)] : []));
    return cells.join(',');
  });
  return `${header.join(',')}\n${lines.join('\n')}\n`;
}

export function predictionsJson(predictions: readonly Prediction[], classNames?: readonly string[]): string {
  const name = (c: number) => (classNames === undefined ? {} : { className: classNames[c]! });
  return `${JSON.stringify(
    predictions.map((p) => ({
      index: p.index,
      class: p.top[0]!.class,
      ...name(p.top[0]!.class),
      probability: p.top[0]!.probability,
      top: p.top.map((t) => ({ ...t, ...name(t.class) })),
      ...(p.label === undefined ? {} : { label: p.label, ...(classNames === undefined ? {} : { labelName: classNames[p.label]! }) }),
    })),
    null,
    1,
  )}\n`;
}

/** CSV of a regression model: index, prediction, then target when the data has targets. */
export function valuePredictionsCsv(predictions: readonly ValuePrediction[], withTargets: boolean): string {
  const header = ['index', 'prediction', ...(withTargets ? ['target'] : [])];
  const lines = predictions.map((p) => [p.index, p.value.toPrecision(7), ...(withTargets ? [p.target === undefined ? '' : Number(p.target.toPrecision(7))] : [])].join(','));
  return `${header.join(',')}\n${lines.join('\n')}\n`;
}

export function valuePredictionsJson(predictions: readonly ValuePrediction[]): string {
  return `${JSON.stringify(predictions.map((p) => ({ index: p.index, prediction: p.value, ...(p.target === undefined ? {} : { target: p.target }) })), null, 1)}\n`;
}

/** A class name as a CSV cell: quoted when it holds a comma, a quote or a line break (RFC 4180). */
function csvCell(text: string): string {
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}
