import { readFileSync } from 'node:fs';

/**
 * Note [core type]: OpenBLAS built for many CPUs (Debian's DYNAMIC_ARCH build) picks its kernels by
 * recognising the CPU model. Debian's 0.3.21 predates Zen 5 and has been measured falling back to
 * its SSE3 "Prescott" kernels there (≈ 15 GFLOP/s against 66–225 with AVX-512). The instruction
 * set is what matters, so the core type is chosen from the CPU's flags: AVX-512F → SkylakeX,
 * AVX2 → Haswell, otherwise OpenBLAS's own detection. A user's OPENBLAS_CORETYPE is kept.
 *
 * Note [one BLAS thread]: each micro-batch is computed by one pool thread; OpenBLAS must not
 * split a GEMM over threads of its own (it would fight the pool for the cores and make a result
 * depend on how many it used). Both variables are read once, when the library loads.
 */
export function openblasEnvironment(cpuFlags: ReadonlySet<string>, env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const chosen: Record<string, string> = { OPENBLAS_NUM_THREADS: '1' };
  const userCoreType = env['OPENBLAS_CORETYPE'];
  if (userCoreType !== undefined && userCoreType !== '') chosen['OPENBLAS_CORETYPE'] = userCoreType;
  else if (cpuFlags.has('avx512f')) chosen['OPENBLAS_CORETYPE'] = 'SkylakeX';
  else if (cpuFlags.has('avx2')) chosen['OPENBLAS_CORETYPE'] = 'Haswell';
  return chosen;
}

/** The flags of the first processor in /proc/cpuinfo (empty where there is none, e.g. not Linux). */
export function cpuFlags(cpuinfo = '/proc/cpuinfo'): Set<string> {
  let text: string;
  try {
    text = readFileSync(cpuinfo, 'utf8');
  } catch {
    return new Set();
  }
  const line = text.split('\n').find((l) => /^flags\s*:/.test(l));
  return new Set(line ? line.slice(line.indexOf(':') + 1).trim().split(/\s+/) : []);
}

/**
 * Puts the chosen variables into this process's environment. Must run on the main thread before
 * the addon (and with it OpenBLAS) is first loaded: a worker thread's process.env is a copy that
 * never reaches the C environment OpenBLAS reads.
 */
export function applyOpenblasEnvironment(): Record<string, string> {
  const chosen = openblasEnvironment(cpuFlags(), process.env);
  Object.assign(process.env, chosen);
  return chosen;
}
