import { createWasmBackend } from './shared/src/kernels/wasm/backend.js';
import { conv2dGeometry } from './shared/src/kernels/geometry.js';
import { Random } from './shared/src/random.js';
const b = createWasmBackend(); const k = b.kernels; const rng = new Random(3);
const fill = (t: any) => { for (let i = 0; i < t.size; i++) t.data[i] = rng.uniform(-1, 1); return t; };
function time(label: string, flops: number, f: () => void, reps = 20) {
  for (let i = 0; i < 3; i++) f();
  const r: number[] = [];
  for (let i = 0; i < reps; i++) { const t = performance.now(); f(); r.push(performance.now() - t); }
  r.sort((a, b) => a - b); const med = r[reps >> 1]!;
  console.log(label.padEnd(44), med.toFixed(3).padStart(8), 'ms', (flops / med / 1e6).toFixed(1).padStart(6), 'GFLOP/s');
}
const cases = [
  { name: 'conv1', x: [32, 28, 28, 1], f: 32 },
  { name: 'conv2', x: [32, 13, 13, 32], f: 64 },
];
for (const c of cases) {
  const g = conv2dGeometry(c.x, [3, 3], c.f, [1, 1], 'valid');
  const x = fill(b.alloc(c.x)); const w = fill(b.alloc([3, 3, c.x[3]!, c.f]));
  const y = fill(b.alloc([g.batch, g.outHeight, g.outWidth, c.f])); const dx = b.alloc(c.x); const dw = b.alloc([3, 3, c.x[3]!, c.f]);
  const M = g.batch * g.outHeight * g.outWidth, K = 9 * c.x[3]!, N = c.f; const fl = 2 * M * N * K;
  time(`${c.name} conv2d M${M} N${N} K${K}`, fl, () => k.conv2d(x, w, y, g));
  time(`${c.name} backpropFilter`, fl, () => k.conv2dBackpropFilter(x, y, dw, g));
  time(`${c.name} backpropInput`, fl, () => k.conv2dBackpropInput(y, w, dx, g));
  const A = fill(b.alloc([M, K])); const B = fill(b.alloc([K, N])); const C = b.alloc([M, N]);
  time(`${c.name} plain GEMM same M,N,K`, fl, () => k.matMul(A, B, C));
  const At = fill(b.alloc([K, M]));
  time(`${c.name} GEMM Aᵀ[K,M]·dy[M,N] (filter-grad shape)`, fl, () => k.matMul(At, C, B, { transposeA: false }) , 20);
}
const n = 1024; const A = fill(b.alloc([n, n])), B = fill(b.alloc([n, n])), C = b.alloc([n, n]);
time('GEMM 1024', 2 * n ** 3, () => k.matMul(A, B, C), 7);
