import { writeFile } from 'node:fs/promises';
import type { InferenceData, Model } from '@gradmesh/shared/internal';
import { valuePredictionsCsv, valuePredictionsJson, type ValuePrediction } from './predictions.js';
import { formatMetric } from './run-summary.js';

/** Samples per predict call, as for classifiers. */
const BATCH = 1024;

/**
 * `gradmesh predict` for a regression model: one predicted value per sample (the model's single output),
 * with the target and a summary MAE when the data carries targets.
 */
export async function predictValues(model: Model, file: string, input: InferenceData, dataPath: string, out: string | undefined, format: 'csv' | 'json'): Promise<void> {
  const { data, labelled } = input;
  const withTargets = labelled && data.task === 'regression';
  const predictions: ValuePrediction[] = [];
  let absoluteError = 0;
  for (let start = 0; start < data.count; start += BATCH) {
    const end = Math.min(data.count, start + BATCH);
    const output = await model.predict(data, start, end);
    const per = output.size / (end - start);
    for (let i = start; i < end; i++) {
      const value = output.data[(i - start) * per]!;
      const target = withTargets ? data.targetAt(i) : undefined;
      if (target !== undefined) absoluteError += Math.abs(value - target);
      predictions.push({ index: i, value, ...(target === undefined ? {} : { target }) });
    }
  }
  const text = format === 'json' ? valuePredictionsJson(predictions) : valuePredictionsCsv(predictions, withTargets);
  if (out !== undefined) await writeFile(out, text);
  else process.stdout.write(text);
  const summary = [
    `${data.count.toLocaleString('en-US')} predictions for ${dataPath} by ${file} (step ${model.state.step})${out ? `, written to ${out}` : ''}`,
    ...(withTargets ? [`mean absolute error against the data's targets: ${formatMetric(absoluteError / Math.max(1, data.count))}`] : []),
  ].join('\n');
  (out ? process.stdout : process.stderr).write(`${summary}\n`);
}
