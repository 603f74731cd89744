import { createWasmBackend } from './shared/src/kernels/wasm/backend.js';
import { Model } from './shared/src/train/model.js';
import { LocalExecutor } from './shared/src/train/local-executor.js';
import { applyUpdate } from './shared/src/train/update.js';
import { loadRunConfig } from './shared/src/config/run-config.js';
import { Dataset } from './shared/src/data/dataset.js';
import { syntheticSamples } from './shared/src/bench/synthetic.js';
const which = process.argv[2] ?? 'cnn';
const config = loadRunConfig(`examples/mnist-${which}.json`);
const base = createWasmBackend();
const times = new Map<string, number>(); const calls = new Map<string, number>();
const kernels: any = {};
for (const [name, fn] of Object.entries(base.kernels)) {
  kernels[name] = (...args: unknown[]) => { const t = performance.now(); const r = (fn as any)(...args); times.set(name, (times.get(name) ?? 0) + performance.now() - t); calls.set(name, (calls.get(name) ?? 0) + 1); return r; };
}
const backend = { ...base, kernels };
const model = new Model(config, { backend, executor: (network, store) => new LocalExecutor(network, backend, store, { seed: 1, microBatch: 32, targetsAreInputs: false }) });
const s = syntheticSamples(64, 784);
const data = Dataset.create({ name: 's', sampleShape: [784], classes: 10, features: s.pixels, labels: s.labels });
const idx = Uint32Array.from({ length: 64 }, (_, i) => i);
const step = async () => { const st = await model.executor.computeGradients(data, idx, 0, 64, model.step); applyUpdate(model.params, model.optimizer, 0.001, st.count, config.training, backend.kernels); model.step++; };
for (let i = 0; i < 10; i++) await step();
times.clear(); calls.clear();
const N = 30; const t0 = performance.now();
for (let i = 0; i < N; i++) await step();
const total = performance.now() - t0;
console.log(`${which}: ${(64 * N / (total / 1000)).toFixed(0)} samples/s, ${(total / N).toFixed(2)} ms/step`);
let ksum = 0;
for (const [k, v] of [...times].sort((a, b) => b[1] - a[1])) { ksum += v; console.log(k.padEnd(24), (v / N).toFixed(3).padStart(8), 'ms/step', String((calls.get(k)! / N)).padStart(5), 'calls'); }
console.log('kernels total', (ksum / N).toFixed(2), 'ms/step; other', ((total - ksum) / N).toFixed(2));
