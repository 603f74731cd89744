import { ConfigError } from '@gradmesh/shared/internal';

export const LOG_FORMATS = ['text', 'json'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];
export type LogLevel = 'info' | 'warn' | 'error';

/** Structured fields of a line; shown in the json format only. `event` names what happened (`epoch`, `started`, …). */
export type LogFields = Readonly<Record<string, unknown>> & { readonly event?: string };

/**
 * Note [one line per event]
 * A cluster process (coordinator, worker) writes what happens to stderr, one line per event, through one
 * Logger. The text format is the line as people read it — exactly what gradmesh printed before there was a
 * json format, so scripts that match those lines keep working. The json format (`--log-format json`, for log
 * collectors: Fluent Bit, Loki, CloudWatch) is one JSON object per line,
 * `{ "time", "level", "role", "event"?, "msg", …fields }`: `msg` is the text line (a multi-line text such as
 * the confusion matrix becomes one escaped string, so a line is still one event), and the fields carry the
 * numbers a query wants without parsing `msg`. Secrets never reach a logger (Note [secrets stay out of sight]).
 */
export interface Logger {
  readonly format: LogFormat;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
}

export interface LoggerOptions {
  readonly format: LogFormat;
  /** Who writes: `coordinator`, `worker`, … (json only). */
  readonly role: string;
  readonly out?: { write(text: string): unknown };
  readonly now?: () => number;
}

export function createLogger(options: LoggerOptions): Logger {
  const out = options.out ?? process.stderr;
  const now = options.now ?? Date.now;
  const write = (level: LogLevel, msg: string, fields: LogFields = {}): void => {
    if (options.format === 'text') {
      out.write(`${msg}\n`);
      return;
    }
    const { event, ...rest } = fields;
    // time, level, role, event and msg come first; a field of the same name cannot overwrite them.
    const line: Record<string, unknown> = { time: new Date(now()).toISOString(), level, role: options.role, ...(event === undefined ? {} : { event }), msg };
    for (const [key, value] of Object.entries(rest)) if (!(key in line) && key !== 'event') line[key] = value;
    out.write(`${JSON.stringify(line)}\n`);
  };
  return {
    format: options.format,
    info: (msg, fields) => write('info', msg, fields),
    warn: (msg, fields) => write('warn', msg, fields),
    error: (msg, fields) => write('error', msg, fields),
  };
}

/** `--log-format text|json`; absent → text. */
export function parseLogFormat(value: unknown, flag: string): LogFormat {
  if (value === undefined) return 'text';
  if (typeof value === 'string' && (LOG_FORMATS as readonly string[]).includes(value)) return value as LogFormat;
  throw new ConfigError(flag, `must be ${LOG_FORMATS.join(' or ')}`, { value });
}
