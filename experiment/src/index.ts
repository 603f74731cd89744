/** Scaling experiments: what `gradmesh experiment scaling` measures and `gradmesh experiment simulate` projects. */
export { ScalingResults, ScalingRun, LinkSpec, Topology, Quantiles, LinkBytes } from './scaling-results.js';
export * from './simulator/index.js';
export { renderScalingPlots, renderVegaLite } from './plots/index.js';
export type { RenderedPlot, SimulatedScaling } from './plots/index.js';
