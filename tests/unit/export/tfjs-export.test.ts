import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { exportTfjs } from '../../../shared/src/export/tfjs/export-tfjs.js';
import { EXPORT_MODELS, maxAbsDifference, trainedBriefly, type ExportModelName } from '../../helpers/trained-models.js';

/** Loads the exported artifacts in TensorFlow.js itself, through its in-memory IO handler. */
async function loadInTfjs(artifacts: ReturnType<typeof exportTfjs>): Promise<tf.LayersModel> {
  const json = artifacts.modelJson as { modelTopology: object; weightsManifest: { weights: tf.io.WeightsManifestEntry[] }[] };
  const data = artifacts.weightData.buffer.slice(artifacts.weightData.byteOffset, artifacts.weightData.byteOffset + artifacts.weightData.byteLength);
  return tf.loadLayersModel(tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: json.weightsManifest[0]!.weights, weightData: data }));
}

describe('export to TensorFlow.js (checked by @tensorflow/tfjs)', () => {
  for (const which of ['mlp', 'cnn', 'batchNorm', 'lstm'] as const satisfies readonly ExportModelName[]) {
    it(`${which}: tf.loadLayersModel predicts what gradmesh predicts within 1e-5`, async () => {
      const { model, data, inputs } = await trainedBriefly(which);
      try {
        const ours = await model.predict(data);
        const loaded = await loadInTfjs(exportTfjs(model));
        const x = tf.tensor(inputs, [data.count, ...EXPORT_MODELS[which].inputShape]);
        const theirs = (loaded.predict(x) as tf.Tensor).dataSync();
        const diff = maxAbsDifference(ours.data, theirs);
        console.log(`tfjs ${which}: max |Δ| = ${diff.toExponential(2)}`);
        expect(theirs.length).toBe(ours.data.length);
        expect(diff).toBeLessThan(1e-5);
        // The outputs are probabilities (the softmax of softmaxCrossEntropy is part of the export).
        expect(theirs[0]! + theirs[1]! + theirs[2]!).toBeCloseTo(1, 5);
      } finally {
        await model.close();
      }
    }, 60_000);
  }

  it('a GRU (reset_after=true) is refused naming the layer: TF.js has no such GRU', async () => {
    const { model } = await trainedBriefly('gru');
    try {
      expect(() => exportTfjs(model)).toThrow(/model\.layers\[0\]: layer "gru_0" \(gru\).*--format onnx/);
    } finally {
      await model.close();
    }
  });
});

describe('the TF.js comparison itself', () => {
  it('negative control: one conv kernel value moved by 0.5 after export is caught (> 1e-5)', async () => {
    const { model, data, inputs } = await trainedBriefly('cnn');
    try {
      const loaded = await loadInTfjs(exportTfjs(model));
      model.params.entries.find((p) => p.layer === 'conv2d_0' && p.spec.name === 'kernel')!.value.data[3]! += 0.5;
      const ours = await model.predict(data);
      const theirs = (loaded.predict(tf.tensor(inputs, [data.count, 6, 6, 1])) as tf.Tensor).dataSync();
      expect(maxAbsDifference(ours.data, theirs)).toBeGreaterThan(1e-5);
    } finally {
      await model.close();
    }
  }, 60_000);
});
