import type { WindowGeometry } from '../signatures/conv.js';
import type { WasmContext } from './context.js';

/** Element counts of a convolution's x, filter and y for a geometry. */
export function windowSizes(g: WindowGeometry): { x: number; filter: number; y: number } {
  return {
    x: g.batch * g.inHeight * g.inWidth * g.inChannels,
    filter: g.windowHeight * g.windowWidth * g.inChannels * g.outChannels,
    y: g.batch * g.outHeight * g.outWidth * g.outChannels,
  };
}

/** Hands a geometry to the instance (shared/assembly/window.ts) before a conv or pooling call. */
export function setWindow(context: WasmContext, g: WindowGeometry): void {
  context.exports.setWindow(
    g.batch, g.inHeight, g.inWidth, g.inChannels, g.windowHeight, g.windowWidth,
    g.strideHeight, g.strideWidth, g.padTop, g.padLeft, g.outHeight, g.outWidth,
  );
}
