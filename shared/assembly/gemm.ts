/**
 * GEMM: C[rowStart:rowEnd, :] (+)= op(A) · op(B), Goto-style blocking around a 4×8 register tile.
 *
 * Note [tile]: 4 rows × 8 columns = 8 f32x4 accumulators + 2 B vectors + 1 broadcast A value fits the
 * 16 xmm registers V8 gives wasm SIMD; a 6×8 tile spills (measured ≈ 31 vs ≈ 55 GFLOP/s, shared/README).
 * Unrolling the depth loop twice spills too (V8 hoists the second step's loads: 35 vs 46 GFLOP/s at
 * 1024³, 2026-11-30). Without FMA each depth step is 8 multiplies and 8 adds on the two FMUL and two
 * FADD pipes, 4 cycles for 64 flops, so the loop as written runs near that bound (≈ 51 GFLOP/s with
 * packing skipped); what is left is packing (pack.ts moves whole 4×4 blocks) and the blocking below.
 *
 * Note [blocking]: KC × NR floats of B (8 KiB) stay in L1 across the MC / MR A panels of a block;
 * NC = 1024 packs each A block once for n ≤ 1024 (a 1024³ GEMM packed A twice with NC = 512, ≈ 2 %).
 *
 * Note [determinism]: every element of C is computed the same way whatever rows are asked for and
 * whichever tile or edge path it falls in: for each depth block [p0, p0+KC) in ascending order,
 * acc = Σ_k a·b with a separate f32 multiply and add, k ascending, starting from 0; then
 * C = acc (first block, not accumulating) or C = C + acc. KC is a constant, edge tiles use the same
 * micro-kernel on zero-padded panels, and there is no FMA, so splitting the rows of one GEMM across
 * threads (`rowStart`, `rowEnd`) gives bitwise the same C as computing it whole.
 */
import { MR, NR, packA, packB } from './pack';

const KC: i32 = 256;
const MC: i32 = 64;
const NC: i32 = 1024;
const A_BLOCK_BYTES: usize = <usize>MC * <usize>KC * 4;
const B_BLOCK_BYTES: usize = <usize>KC * <usize>NC * 4;
const TILE_BYTES: usize = <usize>MR * <usize>NR * 4;

/** Bytes of workspace `gemm` needs (packed A block, packed B block, one edge tile), 64-byte multiple. */
export function gemmWorkspaceBytes(): usize {
  return (A_BLOCK_BYTES + B_BLOCK_BYTES + TILE_BYTES + 63) & ~(<usize>63);
}

/**
 * Rows [rowStart, rowEnd) of C[m, n] (row stride ldc) = op(A)·op(B), or C += … when accumulate.
 * aMode/bMode are the packing modes of pack.ts; lda/ldb are row strides in elements of the stored
 * a and b. ws points to gemmWorkspaceBytes() of scratch.
 */
export function gemm(
  aMode: i32, a: usize, lda: i32,
  bMode: i32, b: usize, ldb: i32,
  c: usize, ldc: i32,
  m: i32, n: i32, k: i32,
  rowStart: i32, rowEnd: i32, accumulate: bool, ws: usize,
): void {
  if (k == 0) {
    if (!accumulate) {
      for (let i = rowStart; i < rowEnd; i++) memory.fill(c + (<usize>i * <usize>ldc << 2), 0, <usize>n << 2);
    }
    return;
  }
  const ap = ws;
  const bp = ws + A_BLOCK_BYTES;
  const tile = bp + B_BLOCK_BYTES;
  const ldcBytes = <usize>ldc << 2;
  for (let jc = 0; jc < n; jc += NC) {
    const nc = min(NC, n - jc);
    for (let pc = 0; pc < k; pc += KC) {
      const kc = min(KC, k - pc);
      const overwrite = pc == 0 && !accumulate;
      packB(bMode, b, ldb, n, pc, kc, jc, nc, bp);
      for (let ic = rowStart; ic < rowEnd; ic += MC) {
        const mc = min(MC, rowEnd - ic);
        packA(aMode, a, lda, rowEnd, ic, mc, pc, kc, ap);
        for (let jr = 0; jr < nc; jr += NR) {
          const bPanel = bp + (<usize>jr * <usize>kc << 2);
          for (let ir = 0; ir < mc; ir += MR) {
            const aPanel = ap + (<usize>ir * <usize>kc << 2);
            const cTile = c + ((<usize>(ic + ir) * <usize>ldc + <usize>(jc + jr)) << 2);
            const rows = min(MR, mc - ir);
            const cols = min(NR, nc - jr);
            if (rows == MR && cols == NR) {
              micro4x8(kc, aPanel, bPanel, cTile, ldcBytes, overwrite);
            } else {
              micro4x8(kc, aPanel, bPanel, tile, <usize>NR << 2, true);
              storeEdge(tile, cTile, ldcBytes, rows, cols, overwrite);
            }
          }
        }
      }
    }
  }
}

/** Copies the valid rows × cols of a finished tile into C, with the same f32 add as the full tile. */
function storeEdge(tile: usize, cTile: usize, ldcBytes: usize, rows: i32, cols: i32, overwrite: bool): void {
  for (let r = 0; r < rows; r++) {
    const src = tile + (<usize>(r * NR) << 2);
    const dst = cTile + <usize>r * ldcBytes;
    for (let j = 0; j < cols; j++) {
      const off = <usize>j << 2;
      const v = load<f32>(src + off);
      store<f32>(dst + off, overwrite ? v : load<f32>(dst + off) + v);
    }
  }
}

// @ts-ignore: decorator
@inline
function addOrStore(dst: usize, acc: v128, overwrite: bool): void {
  v128.store(dst, overwrite ? acc : f32x4.add(v128.load(dst), acc));
}

/** The 4×8 register tile over kc steps of packed panels (see Note [tile]). */
function micro4x8(kc: i32, ap: usize, bp: usize, c: usize, ldcBytes: usize, overwrite: bool): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
  let c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0);
  let c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  const end = ap + (<usize>kc << 4);
  while (ap < end) {
    const b0 = v128.load(bp);
    const b1 = v128.load(bp, 16);
    let a = v128.load32_splat(ap);
    c00 = f32x4.add(c00, f32x4.mul(a, b0));
    c01 = f32x4.add(c01, f32x4.mul(a, b1));
    a = v128.load32_splat(ap, 4);
    c10 = f32x4.add(c10, f32x4.mul(a, b0));
    c11 = f32x4.add(c11, f32x4.mul(a, b1));
    a = v128.load32_splat(ap, 8);
    c20 = f32x4.add(c20, f32x4.mul(a, b0));
    c21 = f32x4.add(c21, f32x4.mul(a, b1));
    a = v128.load32_splat(ap, 12);
    c30 = f32x4.add(c30, f32x4.mul(a, b0));
    c31 = f32x4.add(c31, f32x4.mul(a, b1));
    ap += 16;
    bp += 32;
  }
  addOrStore(c, c00, overwrite);
  addOrStore(c + 16, c01, overwrite);
  c += ldcBytes;
  addOrStore(c, c10, overwrite);
  addOrStore(c + 16, c11, overwrite);
  c += ldcBytes;
  addOrStore(c, c20, overwrite);
  addOrStore(c + 16, c21, overwrite);
  c += ldcBytes;
  addOrStore(c, c30, overwrite);
  addOrStore(c + 16, c31, overwrite);
}
