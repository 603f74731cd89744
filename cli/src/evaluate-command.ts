import { DataError, writeJsonAtomic } from '@gradmesh/shared/internal';
import type { Command } from './args.js';
import { evaluationFields } from './evaluation-fields.js';
import { classNamesField } from './report-identity.js';
import { formatMetric } from './run-summary.js';
import { openTrainedInput, TRAINED_INPUT_OPTIONS, TRAINED_INPUT_USAGE } from './trained-input.js';

export const evaluateCommand: Command = {
  name: 'evaluate',
  summary: 'Evaluate a checkpoint on a data set: accuracy, loss, per-class metrics, confusion matrix (reconstruction / ELBO for generative models)',
  usage: `gradmesh evaluate --checkpoint <file|dir> --data <file> [options]

Options:
${TRAINED_INPUT_USAGE}
  --report <out.json>      write the evaluation (the run report's test* fields) here, atomically
  --verbose                stack traces on errors`,
  options: { ...TRAINED_INPUT_OPTIONS, report: { type: 'string' } },
  async run(values) {
    const reportPath = values['report'] as string | undefined;
    const { trained, input, dataPath } = await openTrainedInput(values, 'evaluate');
    const { model, file } = trained;
    try {
      const { data, labelled } = input;
      // Autoencoders and VAEs are scored against their input; a classifier needs the labels.
      if (model.kind === 'sequential' && !labelled) {
        throw new DataError(dataPath, `has no labels, and evaluating a ${model.config.task === 'regression' ? 'regression model needs its targets' : 'classifier needs them'}`, { hint: 'give the label column (CSV), --labels (IDX) or a dataset spec' });
      }
      const evaluation = await model.evaluate(data, { confusion: model.kind === 'sequential' });
      const fields = evaluationFields(model.kind, evaluation, data.featureSize);
      const report = {
        checkpoint: file,
        step: model.state.step,
        model: model.config.name,
        modelKind: model.kind,
        task: model.config.task,
        ...classNamesField(model.classNames),
        data: dataPath,
        samples: data.count,
        ...fields,
        evaluatedAt: new Date().toISOString(),
      };
      const parts = [`loss ${fields.testLoss.toFixed(4)}`];
      if (fields.testAccuracy !== null) parts.unshift(`accuracy ${(fields.testAccuracy * 100).toFixed(2)}%`);
      if (fields.testMae !== undefined) parts.unshift(`MAE ${formatMetric(fields.testMae)}  RMSE ${formatMetric(fields.testRmse!)}  R² ${fields.testR2 === null || fields.testR2 === undefined ? 'n/a' : fields.testR2.toFixed(4)}`);
      if (fields.testReconstructionMse !== undefined) parts.push(`reconstruction MSE ${fields.testReconstructionMse.toFixed(5)}/value`);
      if (fields.testNegElbo !== undefined) parts.push(`−ELBO ${fields.testNegElbo.toFixed(2)} nats (KL ${fields.testKl?.toFixed(2)}, reconstruction ${fields.testReconstruction?.toFixed(2)})`);
      process.stdout.write(`${model.config.name} (${file}, step ${model.state.step}) on ${dataPath}, ${data.count.toLocaleString('en-US')} samples: ${parts.join('  ')}\n`);
      if (evaluation.confusion) process.stderr.write(`${evaluation.confusion.format(model.classNames)}\n`);
      if (reportPath) {
        await writeJsonAtomic(reportPath, report);
        process.stderr.write(`report written to ${reportPath}\n`);
      }
      return 0;
    } finally {
      await model.close();
    }
  },
};
