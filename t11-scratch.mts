import { readFileSync } from 'node:fs';
import { createWasmMemory } from './shared/src/kernels/wasm/memory.js';
import { instantiateKernels } from './shared/src/kernels/wasm/module.js';
import { registerContext } from './shared/src/kernels/wasm/context.js';
import { Arena } from './shared/src/kernels/wasm/arena.js';
import { wasmKernels } from './shared/src/kernels/wasm/kernels.js';
import { conv2dGeometry } from './shared/src/kernels/geometry.js';
import { referenceKernels } from './shared/src/kernels/reference/index.js';
import { Tensor } from './shared/src/tensor/tensor.js';
import { Random } from './shared/src/random.js';
const memory = createWasmMemory(64 << 20);
const ex: any = instantiateKernels(memory, new WebAssembly.Module(readFileSync('/tmp/new.wasm')));
const persistent = new Arena(memory, 1 << 20, 1 << 28, 'p'); const scratch = new Arena(memory, 1 << 28, undefined, 's');
registerContext({ memory, exports: ex, scratch });
const fillR = (t: any, seed: number) => { const r = new Random(seed); for (let i = 0; i < t.size; i++) t.data[i] = r.uniform(-1, 1); return t; };
for (const [x, f, s, pad] of [[[32, 13, 13, 32], 64, 1, 'valid'], [[32, 28, 28, 1], 32, 1, 'valid'], [[4, 9, 8, 5], 6, 2, 'same']] as const) {
  const g = conv2dGeometry(x as any, [3, 3], f, [s, s], pad);
  const DY = fillR(persistent.alloc([g.batch, g.outHeight, g.outWidth, f]), 1); const W = fillR(persistent.alloc([3, 3, x[3], f]), 2);
  const DX1 = persistent.alloc([...x]); const DX2 = persistent.alloc([...x]);
  const rows = g.batch * g.outHeight * g.outWidth, cols = 9 * x[3];
  const colsT = persistent.alloc([rows, cols]); const ws = persistent.allocBytes(ex.gemmWorkspaceBytes());
  const a = () => wasmKernels.conv2dBackpropInput!(DY, W, DX1, g);
  const b = () => {
    ex.gemm(0, DY.data.byteOffset, f, 1, W.data.byteOffset, f, colsT.data.byteOffset, cols, rows, cols, f, 0, rows, 0, ws);
    ex.setWindow(g.batch, g.inHeight, g.inWidth, g.inChannels, 3, 3, g.strideHeight, g.strideWidth, g.padTop, g.padLeft, g.outHeight, g.outWidth);
    ex.col2im(colsT.data.byteOffset, DX2.data.byteOffset);
  };
  a(); b();
  const want = Tensor.zeros([...x]); referenceKernels.conv2dBackpropInput(new Tensor(DY.shape, DY.data.slice()), new Tensor(W.shape, W.data.slice()), want, g);
  let e1 = 0, e2 = 0; for (let i = 0; i < want.size; i++) { e1 = Math.max(e1, Math.abs(DX1.data[i]! - want.data[i]!)); e2 = Math.max(e2, Math.abs(DX2.data[i]! - want.data[i]!)); }
  const t: number[][] = [[], []];
  for (let r = 0; r < 40; r++) { let q = performance.now(); a(); t[0]!.push(performance.now() - q); q = performance.now(); b(); t[1]!.push(performance.now() - q); }
  const med = t.map((v) => v.sort((p, q) => p - q)[20]!);
  console.log(JSON.stringify(x), 'err flipped', e1.toExponential(1), 'col2im', e2.toExponential(1), ' ms', med.map((m) => m.toFixed(3)).join(' vs '), 'ratio', (med[1]! / med[0]!).toFixed(2));
}
