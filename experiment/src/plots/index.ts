export { renderScalingPlots } from './scaling-plots.js';
export type { SimulatedScaling } from './scaling-plots.js';
export { renderVegaLite } from './render.js';
export type { RenderedPlot } from './render.js';
