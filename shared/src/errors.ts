/**
 * Typed errors, one class per failure family. Every error gradmesh throws at a user carries the
 * context needed to fix it (the field, file, peer or rank) and a hint saying what to do. Inside the
 * engine, types are trusted; these are thrown where input enters (configs, files, network messages).
 *
 * Note [Error families]: the family decides who can fix the failure, and so how the CLI reports it.
 * - E_CONFIG, E_DATA, E_CHECKPOINT: the user's input is wrong (a config field, a data file, a
 *   checkpoint). Fixing the input fixes the run; the CLI prints one line and exits 2.
 * - E_PROTOCOL: a message that arrived is malformed or foreign (another run, another protocol
 *   version): the user started peers that do not belong together. One line, exit 2.
 * - E_CLUSTER: the run itself failed (a worker died or stalled, replicas diverged, a timeout
 *   expired). The input was fine; retrying or resuming may succeed. Exit 1.
 * - E_INTERNAL: an invariant of gradmesh does not hold, i.e. a bug (or an incomplete build). No
 *   input the user could change explains it, so the CLI asks for a report. Exit 1.
 */
export type ErrorCode = 'E_CONFIG' | 'E_DATA' | 'E_CHECKPOINT' | 'E_PROTOCOL' | 'E_CLUSTER' | 'E_INTERNAL';

export interface ErrorContext {
  readonly [key: string]: string | number | boolean | undefined;
}

export interface GradmeshErrorOptions {
  readonly context?: ErrorContext;
  readonly hint?: string;
  readonly cause?: unknown;
}

export class GradmeshError extends Error {
  /** Stable machine-readable family, see Note [Error families]. */
  readonly code: ErrorCode;
  readonly context: ErrorContext;
  readonly hint: string | undefined;

  constructor(code: ErrorCode, message: string, options: GradmeshErrorOptions = {}) {
    super(options.hint ? `${message} (${options.hint})` : message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.context = options.context ?? {};
    this.hint = options.hint;
  }
}

/** A config or model spec field is missing, has the wrong type, or an impossible value. */
export class ConfigError extends GradmeshError {
  readonly field: string;
  constructor(field: string, message: string, options: { value?: unknown; hint?: string; file?: string } = {}) {
    const where = options.file ? `${options.file}: ` : '';
    const shown = 'value' in options ? ` (got ${formatValue(options.value)})` : '';
    // An empty field means the message itself says where (see ShapeError), so it gets no prefix.
    const located = field === '' ? '' : `${field}: `;
    super('E_CONFIG', `${where}${located}${message}${shown}`, {
      context: { field, file: options.file, value: 'value' in options ? formatValue(options.value) : undefined },
      ...(options.hint ? { hint: options.hint } : {}),
    });
    this.field = field;
  }
}

/**
 * Shapes do not chain (e.g. Dense after Conv2D without Flatten), or a tensor has the wrong shape.
 * A config problem: the model spec (or the tensors a caller built) must change, so it is a
 * ConfigError with code E_CONFIG; the class keeps its own name because users see it.
 */
export class ShapeError extends ConfigError {
  override readonly field: string;
  override readonly context: ErrorContext;
  constructor(message: string, options: { context?: ErrorContext; hint?: string } = {}) {
    // The message names the layer already; the field travels in the context only.
    super('', message, options.hint ? { hint: options.hint } : {});
    const field = options.context?.['field'];
    this.field = typeof field === 'string' ? field : '';
    this.context = options.context ?? {};
  }
}

/**
 * Single-process training diverged: the NaN/Inf guard skipped --max-skipped consecutive steps. A ConfigError
 * (E_CONFIG, exit 2) because one process has no other input than the config and the data — the run is
 * deterministic, so retrying reproduces it bit for bit, and the fix is in the input (a lower learning
 * rate, clipping, or data without NaN/Inf). The message names the steps and the rank; `steps` carries them.
 */
export class DivergenceError extends ConfigError {
  readonly steps: readonly number[];
  constructor(message: string, steps: readonly number[], options: { hint?: string } = {}) {
    super('', message, options.hint ? { hint: options.hint } : {});
    this.steps = [...steps];
  }
}

/**
 * Several problems found at once, before any work started (the preflight checks: config, data, paths,
 * threads, memory). Listing them all saves the user one failed run per problem; the CLI prints one
 * line per problem. It is a ConfigError (E_CONFIG, exit 2) so that code expecting one keeps working;
 * `field` is the first problem's field, and the message joins the problems' messages with newlines.
 * Holds at least two problems: one problem is thrown as itself.
 */
export class PreflightError extends ConfigError {
  override readonly field: string;
  readonly problems: readonly GradmeshError[];
  constructor(problems: readonly GradmeshError[]) {
    super('', `${problems.length} problems:\n${problems.map((p) => p.message).join('\n')}`);
    const first = problems[0];
    this.field = first instanceof ConfigError ? first.field : '';
    this.problems = [...problems];
  }
}

/** A data file is missing, truncated, has a wrong magic number, mismatched counts or bad labels. */
export class DataError extends GradmeshError {
  readonly file: string;
  constructor(file: string, message: string, options: { hint?: string; cause?: unknown; context?: ErrorContext } = {}) {
    super('E_DATA', `${file}: ${message}`, { ...options, context: { file, ...(options.context ?? {}) } });
    this.file = file;
  }
}

/** A checkpoint file is missing, corrupt (checksum), or does not match the model. */
export class CheckpointError extends GradmeshError {
  readonly file: string;
  constructor(file: string, message: string, options: { hint?: string; cause?: unknown } = {}) {
    super('E_CHECKPOINT', `${file}: ${message}`, { ...options, context: { file } });
    this.file = file;
  }
}

/** A network message is malformed, foreign (other run / protocol version) or unexpected. */
export class ProtocolError extends GradmeshError {
  readonly subject: string;
  readonly reason: string;
  constructor(subject: string, reason: string, options: { peer?: string; hint?: string } = {}) {
    super('E_PROTOCOL', `${subject}${options.peer ? ` from ${options.peer}` : ''}: ${reason}`, {
      context: { subject, reason, peer: options.peer },
      ...(options.hint ? { hint: options.hint } : {}),
    });
    this.subject = subject;
    this.reason = reason;
  }
}

/** The cluster cannot continue: a worker died or stalled, replicas diverged, a timeout expired. */
export class ClusterError extends GradmeshError {
  constructor(message: string, options: { rank?: number; step?: number; worker?: string; hint?: string; cause?: unknown } = {}) {
    const { hint, cause, ...context } = options;
    super('E_CLUSTER', message, { context, ...(hint ? { hint } : {}), ...(cause !== undefined ? { cause } : {}) });
  }
}

/**
 * An invariant of gradmesh does not hold: a bug, not something the user's input explains (inputs
 * are validated where they enter, and those checks throw the families above).
 */
export class InternalError extends GradmeshError {
  constructor(message: string, options: GradmeshErrorOptions = {}) {
    super('E_INTERNAL', message, options);
  }
}

/**
 * A compute backend failed to start or was misused: the WebAssembly kernels are not built, a pool
 * thread cannot start, an arena is exhausted or misaddressed. Internal: a valid config cannot cause
 * it, because the config's backend options are checked where the config is read; what remains is
 * an incomplete build or the engine misusing its own backend. The hint says what to run when a
 * rebuild is the fix.
 */
export class BackendError extends InternalError {}

export function formatValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === undefined) return 'undefined';
  try {
    const s = JSON.stringify(value);
    return s.length > 80 ? `${s.slice(0, 77)}...` : s;
  } catch {
    return String(value);
  }
}
