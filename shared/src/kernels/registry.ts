import { BackendError } from '../errors.js';
import type { KernelName, Kernels } from './kernels.js';

/**
 * Kernel registry: backend name → kernel name → implementation (the tfjs-core idea, typed).
 * `reference` must register every kernel; other backends register what they accelerate and
 * inherit the rest from `reference`.
 */
const registry = new Map<string, Partial<Kernels>>();

export function registerKernels(backend: string, kernels: Partial<Kernels>): void {
  const existing = registry.get(backend) ?? {};
  registry.set(backend, { ...existing, ...kernels });
}

export function registeredBackends(): string[] {
  return [...registry.keys()];
}

/** Which kernels `backend` implements itself (not inherited from reference). */
export function ownKernels(backend: string): KernelName[] {
  return Object.keys(registry.get(backend) ?? {}) as KernelName[];
}

/** The complete kernel table of a backend, reference filling the gaps. */
export function resolveKernels(backend: string): Kernels {
  const reference = registry.get('reference');
  if (!reference) throw new BackendError('the reference kernels are not registered', { hint: 'import "@gradmesh/shared" before resolving kernels' });
  const own = registry.get(backend);
  if (!own) throw new BackendError(`unknown backend "${backend}"`, { hint: `registered: ${registeredBackends().join(', ')}` });
  const table = { ...reference, ...own } as Kernels;
  return table;
}
