/** Scaling experiments: what `gradmesh experiment scaling` measures and `gradmesh experiment simulate` projects. */
export { ScalingResults, ScalingRun, LinkSpec, Topology, Quantiles, LinkBytes } from './scaling-results.js';
