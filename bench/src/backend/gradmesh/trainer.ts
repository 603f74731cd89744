import { applyUpdate, createModel, Dataset, optimizerLearningRate, type Model, type RunConfig } from '@gradmesh/shared/internal';
import type { SyntheticSamples } from '../synthetic.js';
import type { Trainer } from '../tfjs/trainer.js';

export type GradmeshBackend = { readonly backend: 'pool' | 'native'; readonly threads: number } | { readonly backend: 'reference' };

/**
 * A gradmesh training step, exactly as Model.fit takes one (computeGradients over the batch's
 * micro-batches, then applyUpdate on the main thread), on a fixed batch: the first `batch` samples,
 * the same ones every step. The model trains with the config's micro-batch size, so the pool's
 * threads split a batch the way they do in a real run.
 */
export async function gradmeshTrainer(config: RunConfig, samples: SyntheticSamples, batch: number, backend: GradmeshBackend): Promise<Trainer & { readonly model: Model }> {
  const sized: RunConfig = { ...config, training: { ...config.training, batchSize: batch } };
  const model = await createModel(sized, backend.backend === 'reference' ? { backend: 'reference' } : { backend: backend.backend, threads: backend.threads });
  const data = Dataset.create({ name: 'synthetic MNIST-shaped samples', sampleShape: [samples.featureSize], classes: samples.classes, features: samples.pixels, labels: samples.labels });
  const indices = Uint32Array.from({ length: batch }, (_, i) => i);
  const lr = optimizerLearningRate(sized.optimizer);
  let step = 0;
  return {
    model,
    async step() {
      const stats = await model.executor.computeGradients(data, indices, 0, batch, step);
      applyUpdate(model.params, model.optimizer, lr, stats.count, sized.training, model.backend.kernels);
      step++;
    },
    dispose: () => model.close(),
  };
}
