import {
  ConfigError,
  Random,
  createModel,
  datasetFromConfig,
  parseRunConfig,
  readCheckpoint,
  sizeOf,
  writeImageGrid,
  type JsonObject,
  type Model,
  type Shape,
} from '@gradmesh/shared/internal';
import { positiveInt, type Command } from './args.js';

export const sampleCommand: Command = {
  name: 'sample',
  summary: 'Write a picture grid of VAE samples, or of test images and their reconstructions',
  usage: `gradmesh sample --checkpoint <file> [--count 64] [--out grid.png] [--mode samples|reconstructions] [--seed N]

  --checkpoint <file>  a checkpoint written by gradmesh train/launch (--checkpoint-dir)       (required)
  --count <n>          how many images (default 64)
  --out <file>         .png, .pgm or .svg (default grid.png)
  --mode <mode>        samples: decode z ~ N(0, I) (VAEs only, the default for a VAE);
                       reconstructions: test images next to the model's reconstructions
                       (default for autoencoders and any other model whose output is its input)
  --seed <n>           seed of the latent draws (default 1)`,
  options: {
    checkpoint: { type: 'string' },
    count: { type: 'string' },
    out: { type: 'string' },
    mode: { type: 'string' },
    seed: { type: 'string' },
  },
  async run(values) {
    const file = values['checkpoint'];
    if (typeof file !== 'string') throw new ConfigError('--checkpoint', 'is required', { hint: 'e.g. gradmesh sample --checkpoint ckpt/ckpt-0000004690.safetensors' });
    const count = positiveInt(values['count'], '--count') ?? 64;
    const out = typeof values['out'] === 'string' ? values['out'] : 'grid.png';
    const seed = positiveInt(values['seed'], '--seed') ?? 1;
    const contents = await readCheckpoint(file);
    const config = parseRunConfig((contents.meta as JsonObject)['config'], { file });
    const model = await createModel(config, { backend: 'reference' });
    try {
      await model.restore(file);
      const mode = values['mode'] ?? (model.kind === 'vae' ? 'samples' : 'reconstructions');
      if (mode !== 'samples' && mode !== 'reconstructions') throw new ConfigError('--mode', 'must be samples or reconstructions', { value: mode });
      if (model.kind === 'sequential') throw new ConfigError('--checkpoint', 'holds a classifier; sample needs an autoencoder or a VAE', { value: file });
      const [height, width] = imageSize(model.network.inputShape);
      const ctx = { backend: model.backend, training: false, rng: new Random(seed) };
      let images: Float32Array;
      let shown = count;
      let columns = Math.ceil(Math.sqrt(count));
      if (mode === 'samples') {
        if (model.kind !== 'vae') throw new ConfigError('--mode', 'samples needs a VAE; use reconstructions for an autoencoder', { value: mode });
        const vae = model.network as unknown as { sample(n: number, c: typeof ctx): { data: Float32Array } };
        images = vae.sample(count, ctx).data.slice();
      } else {
        // Pairs side by side: original, reconstruction.
        const { test } = datasetFromConfig(config.dataset, { path: 'dataset', file: config.file }, config.baseDir);
        const n = Math.min(count, test.count);
        const originals = new Float32Array(n * height * width);
        const order = Uint32Array.from({ length: n }, (_, i) => i);
        test.gatherInputs(order, 0, n, originals);
        const recon = (await model.predict(test, 0, n)).data;
        images = new Float32Array(2 * n * height * width);
        for (let i = 0; i < n; i++) {
          images.set(originals.subarray(i * height * width, (i + 1) * height * width), 2 * i * height * width);
          images.set(recon.subarray(i * height * width, (i + 1) * height * width), (2 * i + 1) * height * width);
        }
        shown = 2 * n;
        columns = 2 * Math.ceil(Math.sqrt(n));
      }
      await writeImageGrid(images, shown, height, width, columns, out);
      process.stdout.write(`wrote ${shown} images (${mode}) to ${out}\n`);
      return 0;
    } finally {
      await closeQuietly(model);
    }
  },
};

/** Height and width of an image input: [h, w], [h, w, 1], or a square [h·w]. */
function imageSize(shape: Shape): [number, number] {
  if (shape.length >= 2) return [shape[0]!, shape[1]!];
  const n = sizeOf(shape);
  const side = Math.round(Math.sqrt(n));
  if (side * side !== n) throw new ConfigError('model.inputShape', 'is not an image: give [height, width] or a square size', { value: shape });
  return [side, side];
}

async function closeQuietly(model: Model): Promise<void> {
  await model.close();
}
