/**
 * Row-wise softmax, its backward, and softmax fused with cross-entropy over [rows, cols]. Rows are
 * short (class counts), so these are scalar float64 loops that mirror the reference step by step
 * (including which intermediate values are rounded to float32), see
 * shared/src/kernels/reference/elementwise.ts and loss.ts.
 */

export function softmax(x: usize, out: usize, rows: i32, cols: i32): void {
  const rowBytes = <usize>cols << 2;
  for (let r = 0; r < rows; r++) {
    const xr = x + <usize>r * rowBytes;
    const o = out + <usize>r * rowBytes;
    let m: f64 = -Infinity;
    for (let j: usize = 0; j < rowBytes; j += 4) m = max(m, <f64>load<f32>(xr + j));
    let sum: f64 = 0;
    for (let j: usize = 0; j < rowBytes; j += 4) {
      const e = Math.exp(<f64>load<f32>(xr + j) - m);
      store<f32>(o + j, <f32>e);
      sum += e;
    }
    for (let j: usize = 0; j < rowBytes; j += 4) store<f32>(o + j, <f32>(<f64>load<f32>(o + j) / sum));
  }
}

export function softmaxBackward(dy: usize, y: usize, dx: usize, rows: i32, cols: i32): void {
  const rowBytes = <usize>cols << 2;
  for (let r = 0; r < rows; r++) {
    const d = dy + <usize>r * rowBytes;
    const yr = y + <usize>r * rowBytes;
    const o = dx + <usize>r * rowBytes;
    let dot: f64 = 0;
    for (let j: usize = 0; j < rowBytes; j += 4) dot += <f64>load<f32>(d + j) * <f64>load<f32>(yr + j);
    for (let j: usize = 0; j < rowBytes; j += 4) {
      store<f32>(o + j, <f32>(<f64>load<f32>(yr + j) * (<f64>load<f32>(d + j) - dot)));
    }
  }
}

/** Returns Σ_rows −Σ_c t·log softmax(z); writes g = gradScale·(softmax(z) − t). g may alias z. */
export function softmaxCrossEntropy(z: usize, t: usize, g: usize, rows: i32, cols: i32, gradScale: f64): f64 {
  const rowBytes = <usize>cols << 2;
  let total: f64 = 0;
  for (let r = 0; r < rows; r++) {
    const zr = z + <usize>r * rowBytes;
    const tr = t + <usize>r * rowBytes;
    const gr = g + <usize>r * rowBytes;
    let m: f64 = -Infinity;
    for (let j: usize = 0; j < rowBytes; j += 4) m = max(m, <f64>load<f32>(zr + j));
    let sumExp: f64 = 0;
    for (let j: usize = 0; j < rowBytes; j += 4) sumExp += Math.exp(<f64>load<f32>(zr + j) - m);
    const logSumExp = m + Math.log(sumExp);
    for (let j: usize = 0; j < rowBytes; j += 4) {
      const tv = <f64>load<f32>(tr + j);
      if (tv != 0) total -= tv * (<f64>load<f32>(zr + j) - logSumExp);
    }
    for (let j: usize = 0; j < rowBytes; j += 4) {
      store<f32>(gr + j, <f32>(gradScale * (Math.exp(<f64>load<f32>(zr + j) - logSumExp) - <f64>load<f32>(tr + j))));
    }
  }
  return total;
}
