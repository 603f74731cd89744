export { preflightRun, threadSource, type Preflight, type PreflightOptions } from './preflight.js';
export { checkThreads, MAX_THREADS } from './threads.js';
export { checkReportPath, checkCheckpointDir } from './paths.js';
export { estimatePoolMemory, checkBatchMemory, type PoolMemoryEstimate } from './memory.js';
export { checkModelAgainstData } from './model-vs-data.js';
export { checkLossAgainstOutput } from './loss-vs-output.js';
export { Problems } from './problems.js';
export { closestName, didYouMean, editDistance } from './did-you-mean.js';
