import { loadRunConfig, createModel, Dataset, Random, applyUpdate } from './shared/dist/internal.js';
const which = process.argv[2] ?? 'mlp', threads = Number(process.argv[3] ?? 2), batch = Number(process.argv[4] ?? 64);
const config = loadRunConfig(`examples/mnist-${which}.json`);
const c = { ...config, training: { ...config.training, batchSize: batch } };
const model = await createModel(c, { backend: 'pool', threads });
const rng = new Random(7); const n = 512;
const feats = new Uint8Array(n*784); for (let i=0;i<feats.length;i++) feats[i] = Math.floor(rng.next()*256);
const labels = new Uint8Array(n); for (let i=0;i<n;i++) labels[i]=i%10;
const data = Dataset.create({ name: 'synthetic', sampleShape: [28,28], classes: 10, features: feats, labels });
const idx = Uint32Array.from({length:n},(_, i)=>i);
for (let s=0;s<40;s++){ const t=performance.now(); const st = await model.executor.computeGradients(data, idx, 0, batch, s); applyUpdate(model.params, model.optimizer, 0.001, st.count, c.training, model.backend.kernels); if (s%5==4) console.log(s, (batch/((performance.now()-t)/1000)).toFixed(0), (st.lossSum/st.count).toFixed(3)); }
await model.close();
