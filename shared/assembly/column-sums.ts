/**
 * Per-column float64 sums of a row-major [m, c] float32 matrix, rows in ascending order: the
 * reference's order for bias gradients and batch statistics, so the sums equal it bit for bit.
 *
 * Note [row groups]: the rows are taken four at a time: a channel pair's running sum is loaded
 * once, the four rows are added to it one after another (still row order, so the same float64
 * additions as one row at a time), and stored once. Row by row, every addition waited on the store
 * of the previous row's sum, and the loops were bound by those memory operations.
 */
import { load2 } from './widen';

export const GROUP: i32 = 4;

/** acc[ch] = Σ x[r, ch] over rows r ascending (f64), for every channel. */
export function columnSums(x: usize, m: i32, c: i32, acc: usize): void {
  memory.fill(acc, 0, <usize>c << 3);
  const rowBytes = <usize>c << 2;
  let r = 0;
  for (; r + GROUP <= m; r += GROUP) {
    const row = x + <usize>r * rowBytes;
    let ch = 0;
    for (; ch + 2 <= c; ch += 2) {
      const a = acc + (<usize>ch << 3);
      const p = row + (<usize>ch << 2);
      let s = v128.load(a);
      s = f64x2.add(s, load2(p));
      s = f64x2.add(s, load2(p + rowBytes));
      s = f64x2.add(s, load2(p + 2 * rowBytes));
      s = f64x2.add(s, load2(p + 3 * rowBytes));
      v128.store(a, s);
    }
    if (ch < c) {
      const a = acc + (<usize>ch << 3);
      const p = row + (<usize>ch << 2);
      let s = load<f64>(a);
      for (let g = 0; g < GROUP; g++) s += <f64>load<f32>(p + <usize>g * rowBytes);
      store<f64>(a, s);
    }
  }
  for (; r < m; r++) {
    const row = x + <usize>r * rowBytes;
    let ch = 0;
    for (; ch + 2 <= c; ch += 2) {
      const a = acc + (<usize>ch << 3);
      v128.store(a, f64x2.add(v128.load(a), load2(row + (<usize>ch << 2))));
    }
    if (ch < c) {
      const a = acc + (<usize>ch << 3);
      store<f64>(a, load<f64>(a) + <f64>load<f32>(row + (<usize>ch << 2)));
    }
  }
}

