import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { exportOnnx, ONNX_INPUT, ONNX_OUTPUT } from '../../../shared/src/export/onnx/export-onnx.js';
import { EXPORT_MODELS, maxAbsDifference, trainedBriefly, type ExportModelName } from '../../helpers/trained-models.js';

describe('export to ONNX (checked by onnxruntime-node)', () => {
  for (const which of ['mlp', 'cnn', 'batchNorm', 'lstm', 'gru'] as const satisfies readonly ExportModelName[]) {
    it(`${which}: ONNX Runtime predicts what gradmesh predicts within 1e-5`, async () => {
      const { model, data, inputs } = await trainedBriefly(which);
      try {
        const ours = await model.predict(data);
        const session = await ort.InferenceSession.create(exportOnnx(model, 'test'));
        const feeds = { [ONNX_INPUT]: new ort.Tensor('float32', inputs, [data.count, ...EXPORT_MODELS[which].inputShape]) };
        const theirs = (await session.run(feeds))[ONNX_OUTPUT]!;
        const diff = maxAbsDifference(ours.data, theirs.data as Float32Array);
        console.log(`onnx ${which}: max |Δ| = ${diff.toExponential(2)}`);
        expect(theirs.dims).toEqual([data.count, 3]);
        expect(diff).toBeLessThan(1e-5);
        await session.release();
      } finally {
        await model.close();
      }
    }, 60_000);
  }
});

describe('the ONNX comparison itself', () => {
  it('negative control: one LSTM forget-gate bias moved by 0.5 after export is caught (> 1e-5)', async () => {
    const { model, data, inputs } = await trainedBriefly('lstm');
    try {
      const session = await ort.InferenceSession.create(exportOnnx(model, 'test'));
      const bias = model.params.entries.find((p) => p.layer === 'lstm_0' && p.spec.name === 'bias')!;
      bias.value.data[5]! += 0.5; // units 5: index 5 is the first forget-gate entry
      const ours = await model.predict(data);
      const theirs = (await session.run({ [ONNX_INPUT]: new ort.Tensor('float32', inputs, [data.count, 6, 6]) }))[ONNX_OUTPUT]!;
      expect(maxAbsDifference(ours.data, theirs.data as Float32Array)).toBeGreaterThan(1e-5);
      await session.release();
    } finally {
      await model.close();
    }
  }, 60_000);
});
