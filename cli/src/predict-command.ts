import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ConfigError } from '@gradmesh/shared/internal';
import { positiveInt, type Command } from './args.js';
import { predictionsCsv, predictionsJson, topK, type Prediction } from './predictions.js';
import { predictValues } from './predict-values.js';
import { openTrainedInput, TRAINED_INPUT_OPTIONS, TRAINED_INPUT_USAGE } from './trained-input.js';

/** Samples per predict call: large enough to keep the pool's threads busy, small enough to bound memory. */
const BATCH = 1024;

export const predictCommand: Command = {
  name: 'predict',
  summary: 'Run a trained classifier (a checkpoint) on new data: class and probabilities per sample',
  usage: `gradmesh predict --checkpoint <file|dir> --data <file> [options]

Options:
${TRAINED_INPUT_USAGE}
  --out <file>             write the predictions here: .csv or .json (default: CSV on stdout)
  --top <k>                the k most probable classes per sample (default 1)
  --verbose                stack traces on errors`,
  options: { ...TRAINED_INPUT_OPTIONS, out: { type: 'string' }, top: { type: 'string' } },
  async run(values) {
    const out = values['out'] as string | undefined;
    const format = out === undefined ? 'csv' : path.extname(out).toLowerCase().slice(1);
    if (format !== 'csv' && format !== 'json') throw new ConfigError('--out', 'must end in .csv or .json', { value: out });
    const k = positiveInt(values['top'], '--top') ?? 1;
    const { trained, input, dataPath } = await openTrainedInput(values, 'predict');
    const { model, file } = trained;
    try {
      if (model.kind !== 'sequential') throw new ConfigError('--checkpoint', `holds a ${model.kind}, which reconstructs its input rather than predicting classes`, { value: file, hint: 'use gradmesh evaluate for its reconstruction error, or gradmesh sample' });
      if (model.config.task === 'regression') {
        if (values['top'] !== undefined) throw new ConfigError('--top', 'applies to classifiers; this checkpoint is a regression model (one value per sample)', { value: String(values['top']) });
        await predictValues(model, file, input, dataPath, out, format);
        return 0;
      }
      const names = model.classNames;
      const classes = model.network.outputShape.at(-1)!;
      if (k > classes) throw new ConfigError('--top', `is larger than the model's ${classes} classes`, { value: String(k) });
      const { data, labelled } = input;
      const predictions: Prediction[] = [];
      const counts = new Array<number>(classes).fill(0);
      let correct = 0;
      for (let start = 0; start < data.count; start += BATCH) {
        const end = Math.min(data.count, start + BATCH);
        const probabilities = await model.predict(data, start, end);
        for (let i = start; i < end; i++) {
          const top = topK(probabilities.data.subarray((i - start) * classes, (i - start + 1) * classes), k);
          const label = labelled ? data.labelAt(i) : undefined;
          predictions.push({ index: i, top, ...(label === undefined ? {} : { label }) });
          counts[top[0]!.class]!++;
          if (top[0]!.class === label) correct++;
        }
      }
      const text = format === 'json' ? predictionsJson(predictions, names) : predictionsCsv(predictions, k, labelled, names);
      if (out !== undefined) await writeFile(out, text);
      else process.stdout.write(text);
      const summary = [
        `${data.count.toLocaleString('en-US')} predictions for ${dataPath} by ${file} (step ${model.state.step})${out ? `, written to ${out}` : ''}`,
        `predicted classes: ${counts.map((n, c) => `${names?.[c] ?? c}: ${n}`).join(', ')}`,
        ...(labelled ? [`accuracy against the data's labels: ${((correct / data.count) * 100).toFixed(2)}%`] : []),
      ].join('\n');
      // With the predictions on stdout, the summary goes to stderr so the CSV stays clean.
      (out ? process.stdout : process.stderr).write(`${summary}\n`);
      return 0;
    } finally {
      await model.close();
    }
  },
};
