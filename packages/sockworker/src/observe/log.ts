/**
 * Logs: JSON lines for `serve` (one object per line, for machines), short
 * coloured-free lines for `dev` (for people). Every line can carry the
 * worker, replica and connection it is about.
 */

export type LogLevel = 'debug' | 'info' | 'warn' | 'error'
export type LogFormat = 'json' | 'pretty'
export type LogFields = Record<string, unknown>

const rank: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 }

export interface Logger {
  debug(message: string, fields?: LogFields): void
  info(message: string, fields?: LogFields): void
  warn(message: string, fields?: LogFields): void
  error(message: string, fields?: LogFields): void
  /** A logger whose lines also carry `fields`, as the connection id. */
  child(fields: LogFields): Logger
  /** Whether lines of `level` are written: skip building costly fields otherwise. */
  enabled(level: LogLevel): boolean
}

export interface LoggerOptions {
  format: LogFormat
  level: LogLevel
  /** Where lines go. Default: standard output. */
  write?: (line: string) => void
}

/**
 * @example
 * const log = createLogger({ format: 'json', level: 'info' }).child({ worker: 'echo' })
 * log.info('listening', { address: '127.0.0.1:7000' })
 */
export function createLogger(options: LoggerOptions, base: LogFields = {}): Logger {
  const write = options.write ?? ((line: string) => process.stdout.write(`${line}\n`))
  return new FieldLogger({ format: options.format, threshold: rank[options.level], write }, base)
}

interface Sink {
  format: LogFormat
  threshold: number
  write: (line: string) => void
}

/**
 * A class, not a bag of closures: a replica makes a child logger for every
 * connection, and methods on the prototype cost nothing per child.
 */
class FieldLogger implements Logger {
  readonly #sink: Sink
  readonly #base: LogFields

  constructor(sink: Sink, base: LogFields) {
    this.#sink = sink
    this.#base = base
  }

  debug(message: string, fields?: LogFields): void {
    this.#emit('debug', message, fields)
  }

  info(message: string, fields?: LogFields): void {
    this.#emit('info', message, fields)
  }

  warn(message: string, fields?: LogFields): void {
    this.#emit('warn', message, fields)
  }

  error(message: string, fields?: LogFields): void {
    this.#emit('error', message, fields)
  }

  child(fields: LogFields): Logger {
    return new FieldLogger(this.#sink, { ...this.#base, ...fields })
  }

  enabled(level: LogLevel): boolean {
    return rank[level] >= this.#sink.threshold
  }

  #emit(level: LogLevel, message: string, fields: LogFields | undefined): void {
    const sink = this.#sink
    if (rank[level] < sink.threshold) return
    const all = { ...this.#base, ...fields }
    sink.write(
      sink.format === 'json' ? jsonLine(level, message, all) : prettyLine(level, message, all),
    )
  }
}

function jsonLine(level: LogLevel, message: string, fields: LogFields): string {
  return JSON.stringify({
    time: new Date().toISOString(),
    level,
    msg: message,
    ...serialise(fields),
  })
}

function prettyLine(level: LogLevel, message: string, fields: LogFields): string {
  const { worker, replica, conn, ...rest } = serialise(fields)
  const who = worker === undefined ? '' : `${worker}${replica === undefined ? '' : `#${replica}`} `
  const connection = conn === undefined ? '' : `[${conn}] `
  // Multi-line values (stacks, load errors) go below the line, indented, as a person reads them.
  const entries = Object.entries(rest)
  const inline = entries.filter(([, value]) => !(typeof value === 'string' && value.includes('\n')))
  const blocks = entries.filter(([, value]) => typeof value === 'string' && value.includes('\n'))
  const extra = inline
    .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`)
    .join(' ')
  const time = new Date().toISOString().slice(11, 19)
  const line = `${time} ${level.toUpperCase().padEnd(5)} ${who}${connection}${message}${extra ? ` ${extra}` : ''}`
  return [line, ...blocks.map(([, value]) => String(value).replace(/^/gm, '    '))].join('\n')
}

/** Errors become their message (and code); everything else stays as it is. */
function serialise(fields: LogFields): LogFields {
  const out: LogFields = {}
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined) continue
    if (value instanceof Error) {
      const code = (value as { code?: unknown }).code
      out[key] = code === undefined ? value.message : `${value.message} (${String(code)})`
    } else out[key] = value
  }
  return out
}
