/** Scaling experiments: what `gradmesh experiment scaling` measures and `gradmesh experiment simulate` projects. */
export { ScalingResults, ScalingRun, LinkSpec, Topology, Quantiles, LinkBytes } from './scaling-results.js';
export * from './simulator/index.js';
// The plots (vega, vega-lite, resvg: ~0.3 s to load) are the subpath `@gradmesh/experiment/plots`, imported only
// where a plot is drawn, so that loading this package — and every gradmesh command — stays cheap.
// Emulated hosts and links (network namespaces, veth, a bridge, tc).
export { parseLink, parseRate, parseDelay, tcRate, describeLink } from './netns/link-spec.js';
export { planNetwork, namespacePrefix, ownerPid, workerIds, EMULATED_RANGE, type NetworkPlan, type HostPlan } from './netns/network-plan.js';
export { setupCommands, teardownCommands, shapeCommand, tbfBurstBytes, guardRouteCommand, inNamespace, type Command } from './netns/network-commands.js';
export { EmulatedNetwork, namespacesUnavailable, listOurNamespaces, removeLeftovers, routeExists, type InterfaceBytes } from './netns/emulated-network.js';
// Topologies: which nats-servers run where, and the bytes each link should carry.
export { serverConfig, serverForWorker, serverCount, clientUrl, type ServerEndpoint } from './topology/server-plan.js';
export { expectedLinkBytes, relativeError, type ExpectedLinkBytes } from './topology/link-formulas.js';
// Measurements.
export { quantile, medianP90 } from './measure/quantiles.js';
export { parseStepTimings, stepFigures, type StepTimingLine, type StepFigures } from './measure/step-samples.js';
export { processCpuSeconds, cpuSecondsOfStat } from './measure/process-cpu.js';
export { serverBytes } from './measure/nats-monitoring.js';
export { probeLoad, type LoadReading } from './measure/cpu-probe.js';
export { resultsMarkdown, linkChecks, type LinkCheck } from './report/results-markdown.js';
