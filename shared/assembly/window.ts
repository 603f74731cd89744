/**
 * The window geometry of the current convolution (see WindowGeometry in
 * shared/src/kernels/signatures/conv.ts), set once per kernel call by `setWindow` and read by the
 * im2col packing routines. Globals are per instance, and every thread has its own instance, so
 * threads sharing one memory never see each other's geometry.
 */
export let batch: i32 = 0;
export let inH: i32 = 0;
export let inW: i32 = 0;
export let inC: i32 = 0;
export let winH: i32 = 0;
export let winW: i32 = 0;
export let strideH: i32 = 1;
export let strideW: i32 = 1;
export let padTop: i32 = 0;
export let padLeft: i32 = 0;
export let outH: i32 = 0;
export let outW: i32 = 0;

export function setWindow(
  n: i32, h: i32, w: i32, c: i32, kh: i32, kw: i32, sh: i32, sw: i32, pt: i32, pl: i32, oh: i32, ow: i32,
): void {
  batch = n; inH = h; inW = w; inC = c;
  winH = kh; winW = kw; strideH = sh; strideW = sw;
  padTop = pt; padLeft = pl; outH = oh; outW = ow;
}
