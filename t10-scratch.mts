// A/B: the same kernels from two builds of the module, alternated in one process.
import { readFileSync } from 'node:fs';
import { createWasmMemory } from './shared/src/kernels/wasm/memory.js';
import { instantiateKernels } from './shared/src/kernels/wasm/module.js';
import { registerContext } from './shared/src/kernels/wasm/context.js';
import { Arena } from './shared/src/kernels/wasm/arena.js';
import { wasmKernels } from './shared/src/kernels/wasm/kernels.js';
import { conv2dGeometry, poolGeometry } from './shared/src/kernels/geometry.js';
import { Random } from './shared/src/random.js';
const files = process.argv.slice(2, 4);
const k: any = wasmKernels;
type Variant = { alloc: (s: number[]) => any };
const variants: Variant[] = files.map((f) => {
  const memory = createWasmMemory(64 << 20);
  const exports = instantiateKernels(memory, new WebAssembly.Module(readFileSync(f)));
  const persistent = new Arena(memory, 1 << 20, 1 << 28, 'p');
  const scratch = new Arena(memory, 1 << 28, undefined, 's');
  registerContext({ memory, exports, scratch });
  return { alloc: (s: number[]) => persistent.alloc(s) };
});
const rng = new Random(5);
type Case = { name: string; setup: (v: Variant) => () => void };
const fillR = (t: any) => { const r = new Random(9); for (let i = 0; i < t.size; i++) t.data[i] = r.uniform(-1, 1); return t; };
const cases: Case[] = [];
for (const [name, x, f] of [['conv1', [32, 28, 28, 1], 32], ['conv2', [32, 13, 13, 32], 64]] as const) {
  const g = conv2dGeometry(x as any, [3, 3], f, [1, 1], 'valid');
  const mk = (v: Variant) => ({ X: fillR(v.alloc([...x])), W: fillR(v.alloc([3, 3, x[3], f])), Y: fillR(v.alloc([g.batch, g.outHeight, g.outWidth, f])), DX: v.alloc([...x]), DW: v.alloc([3, 3, x[3], f]) });
  cases.push({ name: `${name} fwd`, setup: (v) => { const t = mk(v); return () => k.conv2d(t.X, t.W, t.Y, g); } });
  cases.push({ name: `${name} dW`, setup: (v) => { const t = mk(v); return () => k.conv2dBackpropFilter(t.X, t.Y, t.DW, g); } });
  if (name === 'conv2') cases.push({ name: `${name} dX`, setup: (v) => { const t = mk(v); return () => k.conv2dBackpropInput(t.Y, t.W, t.DX, g); } });
}
for (const [name, x] of [['pool1', [32, 26, 26, 32]], ['pool2', [32, 11, 11, 64]]] as const) {
  const g = poolGeometry(x as any, [2, 2], [2, 2], 'valid');
  cases.push({ name: `${name} bwd`, setup: (v) => { const X = fillR(v.alloc([...x])); const DY = fillR(v.alloc([g.batch, g.outHeight, g.outWidth, g.outChannels])); const DX = v.alloc([...x]); return () => k.maxPoolBackward(DY, X, DX, g); } });
}
for (const [name, m, n, kk, ta] of [['gemm1024', 1024, 1024, 1024, false], ['dense fwd', 32, 128, 1600, false], ['dense dW', 1600, 128, 32, true]] as const) {
  cases.push({ name, setup: (v) => { const A = fillR(v.alloc(ta ? [kk, m] : [m, kk])); const B = fillR(v.alloc([kk, n])); const C = v.alloc([m, n]); return () => k.matMul(A, B, C, { transposeA: ta }); } });
}
const only = process.argv[4];
for (const c of cases) {
  if (only && !c.name.includes(only)) continue;
  const fns = variants.map((v) => c.setup(v));
  for (const f of fns) for (let i = 0; i < 5; i++) f();
  const times: number[][] = fns.map(() => []);
  for (let r = 0; r < 40; r++) fns.forEach((f, i) => { const t = performance.now(); f(); times[i]!.push(performance.now() - t); });
  const med = times.map((t) => t.sort((a, b) => a - b)[t.length >> 1]!);
  const mins = times.map((t) => t[0]!);
  console.log(c.name.padEnd(12), med.map((m) => m.toFixed(3)).join('  vs  '), ' ms   new/old', (med[1]! / med[0]!).toFixed(2), ' min ratio', (mins[1]! / mins[0]!).toFixed(2));
}
