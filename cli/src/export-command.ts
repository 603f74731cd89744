import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ConfigError, exportOnnx, exportTfjs, loadTrainedModel, TFJS_WEIGHTS_FILE } from '@gradmesh/shared/internal';
import type { Command } from './args.js';

export const exportCommand: Command = {
  name: 'export',
  summary: 'Export a checkpoint for TensorFlow.js (Layers format) or ONNX Runtime',
  usage: `gradmesh export --checkpoint <file|dir> --format tfjs|onnx --out <dir|file>

Options:
  --checkpoint <file|dir>  a checkpoint, or a --checkpoint-dir (its newest one)     (required)
  --format <name>          tfjs: a directory with model.json + ${TFJS_WEIGHTS_FILE} (tf.loadLayersModel)
                           onnx: one .onnx file (opset 13; input "input", output "output") (required)
  --out <dir|file>         where to write: a directory for tfjs, a file for onnx       (required)
  --verbose                stack traces on errors

The exported model outputs what gradmesh predict gives (class probabilities: the softmax of a
softmaxCrossEntropy model is part of it). Images stay NHWC ([batch, height, width, channels]).`,
  options: { checkpoint: { type: 'string' }, format: { type: 'string' }, out: { type: 'string' } },
  async run(values) {
    const checkpoint = values['checkpoint'];
    if (typeof checkpoint !== 'string') throw new ConfigError('--checkpoint', 'is required', { hint: 'e.g. gradmesh export --checkpoint checkpoints/ --format onnx --out model.onnx' });
    const format = values['format'];
    if (format !== 'tfjs' && format !== 'onnx') throw new ConfigError('--format', 'must be tfjs or onnx', { value: format });
    const out = values['out'];
    if (typeof out !== 'string') throw new ConfigError('--out', 'is required', { hint: format === 'tfjs' ? 'a directory for model.json and its weights' : 'a .onnx file' });
    // Export reads parameters only: the reference backend starts no threads.
    const { model, file } = await loadTrainedModel(checkpoint, { backend: 'reference' });
    try {
      if (format === 'tfjs') {
        const { modelJson, weightData } = exportTfjs(model);
        await mkdir(out, { recursive: true });
        await writeFile(path.join(out, TFJS_WEIGHTS_FILE), weightData);
        await writeFile(path.join(out, 'model.json'), `${JSON.stringify(modelJson)}\n`);
        process.stdout.write(`exported ${file} (step ${model.state.step}) as TensorFlow.js to ${path.join(out, 'model.json')} (+ ${TFJS_WEIGHTS_FILE}, ${weightData.length.toLocaleString('en-US')} bytes)\n`);
      } else {
        const bytes = exportOnnx(model, await gradmeshVersion());
        if (path.dirname(out) !== '.') await mkdir(path.dirname(out), { recursive: true });
        await writeFile(out, bytes);
        process.stdout.write(`exported ${file} (step ${model.state.step}) as ONNX to ${out} (${bytes.length.toLocaleString('en-US')} bytes)\n`);
      }
      return 0;
    } finally {
      await model.close();
    }
  },
};

/** The version in the CLI's package.json (dist/ sits next to it), recorded as the ONNX producer version. */
async function gradmeshVersion(): Promise<string> {
  const json = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8')) as { version?: string };
  return json.version ?? 'unknown';
}
