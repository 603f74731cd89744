/**
 * Typed errors. Every error gradmesh throws at a user carries the context needed to fix it
 * (the field, file, peer or rank) and a hint saying what to do. Inside the engine, types are
 * trusted; these are thrown where input enters (configs, files, network messages).
 */
export interface ErrorContext {
  readonly [key: string]: string | number | boolean | undefined;
}

export class GradmeshError extends Error {
  /** Stable machine-readable code, e.g. `E_CONFIG`. */
  readonly code: string;
  readonly context: ErrorContext;
  readonly hint: string | undefined;

  constructor(code: string, message: string, options: { context?: ErrorContext; hint?: string; cause?: unknown } = {}) {
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
    super('E_CONFIG', `${where}${field}: ${message}${shown}`, {
      context: { field, file: options.file, value: 'value' in options ? formatValue(options.value) : undefined },
      ...(options.hint ? { hint: options.hint } : {}),
    });
    this.field = field;
  }
}

/** Shapes do not chain (e.g. Dense after Conv2D without Flatten), or a tensor has the wrong shape. */
export class ShapeError extends GradmeshError {
  constructor(message: string, options: { context?: ErrorContext; hint?: string } = {}) {
    super('E_SHAPE', message, options);
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

/** A compute backend failed to start or was misused (e.g. WASM not built). */
export class BackendError extends GradmeshError {
  constructor(message: string, options: { hint?: string; cause?: unknown } = {}) {
    super('E_BACKEND', message, options);
  }
}

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
