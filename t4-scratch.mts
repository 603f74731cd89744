import { loadTfjs } from './shared/src/bench/tfjs/runtime.js';
import { ensureConv2dBackpropFilter, checkConv2dBackpropFilter } from './shared/src/bench/tfjs/conv2d-backprop-filter.js';
const rt = await loadTfjs();
console.log(rt.version, rt.wasmSimd, rt.wasmThreads);
console.log(ensureConv2dBackpropFilter(rt.tf));
console.log(await checkConv2dBackpropFilter(rt.tf));
const tf = rt.tf;
console.log(tf.getBackend(), tf.memory().numTensors);
