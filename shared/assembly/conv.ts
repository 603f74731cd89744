/**
 * Helpers that turn the input gradient of a convolution into a forward convolution, so all three
 * convolution kernels run on the one GEMM (see shared/src/kernels/wasm/conv.ts for the derivation):
 * the filter flipped in space and transposed in channels, and dy dilated by the strides.
 */

/** wf[(KH−1−kh, KW−1−kw, f), c] = w[kh, kw, c, f]: a [KH·KW·F, C] matrix. */
export function flipFilter(w: usize, wf: usize, kh: i32, kw: i32, c: i32, f: i32): void {
  for (let i = 0; i < kh; i++) {
    for (let j = 0; j < kw; j++) {
      const src = w + ((<usize>(i * kw + j) * <usize>c * <usize>f) << 2);
      const dst = wf + ((<usize>((kh - 1 - i) * kw + (kw - 1 - j)) * <usize>f * <usize>c) << 2);
      for (let ci = 0; ci < c; ci++) {
        for (let fi = 0; fi < f; fi++) {
          store<f32>(dst + ((<usize>fi * <usize>c + <usize>ci) << 2), load<f32>(src + ((<usize>ci * <usize>f + <usize>fi) << 2)));
        }
      }
    }
  }
}

/**
 * out[n, oh·sh, ow·sw, :] = dy[n, oh, ow, :] over a zero-filled out of [n, (oh−1)·sh+1, (ow−1)·sw+1, f]:
 * the positions a strided forward window never lands on receive no gradient.
 */
export function dilate(dy: usize, out: usize, n: i32, oh: i32, ow: i32, f: i32, sh: i32, sw: i32): void {
  const dh = (oh - 1) * sh + 1;
  const dw = (ow - 1) * sw + 1;
  const run = <usize>f << 2;
  for (let b = 0; b < n; b++) {
    for (let i = 0; i < oh; i++) {
      for (let j = 0; j < ow; j++) {
        const src = dy + ((((<usize>b * <usize>oh + <usize>i) * <usize>ow + <usize>j) * <usize>f) << 2);
        const dst = out + ((((<usize>b * <usize>dh + <usize>(i * sh)) * <usize>dw + <usize>(j * sw)) * <usize>f) << 2);
        memory.copy(dst, src, run);
      }
    }
  }
}
