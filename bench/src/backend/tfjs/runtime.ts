import { BackendError } from '@gradmesh/shared/internal';

/**
 * TensorFlow.js, loaded only when the benchmark runs: it is a dev dependency of the repository, not
 * of the engine, so nothing else in gradmesh may import it eagerly. The union package brings
 * tfjs-core, tfjs-layers (whose loading registers the gradients — tfjs-core's Node entry has none)
 * and tfjs-backend-cpu; the wasm backend registers itself when its package is imported. In Node
 * the wasm backend runs one thread: its threaded build loads a worker from a blob: URL, which
 * worker_threads refuses.
 */
export type Tfjs = typeof import('@tensorflow/tfjs');
export type TfjsBackendName = 'wasm' | 'cpu';

export interface TfjsRuntime {
  readonly tf: Tfjs;
  readonly version: string;
  /** Whether the wasm backend runs its SIMD build (it picks it when the engine supports SIMD). */
  readonly wasmSimd: boolean;
  readonly wasmThreads: number;
}

let loaded: Promise<TfjsRuntime> | undefined;

export function loadTfjs(): Promise<TfjsRuntime> {
  loaded ??= load();
  return loaded;
}

async function load(): Promise<TfjsRuntime> {
  let tf: Tfjs;
  let wasm: typeof import('@tensorflow/tfjs-backend-wasm');
  try {
    tf = await import('@tensorflow/tfjs');
    wasm = await import('@tensorflow/tfjs-backend-wasm');
  } catch (cause) {
    throw new BackendError('the backend benchmark needs @tensorflow/tfjs and @tensorflow/tfjs-backend-wasm', {
      hint: 'they are dev dependencies of the repository: run `npm ci` in the repository root',
      cause,
    });
  }
  // Production mode, as a deployment would run: no debug checks, and no console banner
  // recommending tfjs-node (which cannot be installed here).
  tf.enableProdMode();
  await useTfjsBackend(tf, 'wasm');
  const wasmSimd = (await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) === true;
  return { tf, version: tf.version.tfjs, wasmSimd, wasmThreads: wasm.getThreadsCount() };
}

/** Makes `name` the active backend (initialising it on first use). */
export async function useTfjsBackend(tf: Tfjs, name: TfjsBackendName): Promise<void> {
  const ok = await tf.setBackend(name);
  await tf.ready();
  if (!ok || tf.getBackend() !== name) throw new BackendError(`TensorFlow.js backend "${name}" failed to initialise`);
}
