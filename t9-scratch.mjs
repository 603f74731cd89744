import { loadRunConfig } from './shared/dist/internal.js';
import { gradmeshTrainer } from './shared/dist/bench/gradmesh/trainer.js';
import { syntheticSamples } from './shared/dist/bench/synthetic.js';
const config = loadRunConfig('examples/mnist-mlp.json');
const tr = await gradmeshTrainer(config, syntheticSamples(64, 784), 64, { backend: 'pool', threads: Number(process.argv[2] ?? 2) });
const MiB = (b) => (b / 2 ** 20).toFixed(1);
for (let s = 0; s <= 10000; s++) {
  await tr.step();
  if (s % 1000 === 0) { const m = process.memoryUsage(); console.log(s, 'rss', MiB(m.rss), 'heapTotal', MiB(m.heapTotal), 'heapUsed', MiB(m.heapUsed), 'external', MiB(m.external), 'ab', MiB(m.arrayBuffers)); }
}
await tr.dispose();
