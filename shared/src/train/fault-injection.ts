import { ConfigError } from '../errors.js';

/**
 * TEST-ONLY fault injection for the NaN/Inf guard. `GRADMESH_FAULT_NAN="<rank>:<step>"` makes that rank's
 * LOCAL gradient NaN at that optimizer step (0-based), after it is computed and before it is all-reduced;
 * single-process `train` is rank 0. It exists so that tests can prove a non-finite gradient is skipped on
 * every replica; it is not a feature and nothing but tests should set it.
 */
export const FAULT_NAN_ENV = 'GRADMESH_FAULT_NAN';

export interface InjectedNan {
  readonly rank: number;
  readonly step: number;
}

/** The injected fault named by the environment, if any (read once, where a replica or driver is built). */
export function injectedNan(env: NodeJS.ProcessEnv = process.env): InjectedNan | undefined {
  const spec = env[FAULT_NAN_ENV];
  if (spec === undefined || spec === '') return undefined;
  const m = /^(\d+):(\d+)$/.exec(spec);
  if (!m) throw new ConfigError(FAULT_NAN_ENV, 'must be "<rank>:<step>" (a test-only fault injection)', { value: spec });
  return { rank: Number(m[1]), step: Number(m[2]) };
}

/** Makes a gradient non-finite the way a real overflow would: one NaN in its first element. */
export function poisonGradient(slots: Float32Array): void {
  if (slots.length > 0) slots[0] = Number.NaN;
}
