/**
 * `sockworker serve`: the workers of a config file, with JSON logs, a
 * graceful reload on SIGHUP and a drain on SIGTERM.
 */
import { resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { formatIssues, loadConfig } from '../config/load.ts'
import type { ResolvedConfig } from '../config/types.ts'
import { parseRule } from '../egress/rules.ts'
import { Supervisor } from '../host/supervisor.ts'
import { createLogger } from '../observe/log.ts'
import { serveHelp } from './usage.ts'

export async function serve(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      config: { type: 'string', short: 'c', default: 'sockworker.toml' },
      help: { type: 'boolean', short: 'h' },
    },
  })
  if (values.help) {
    process.stdout.write(serveHelp)
    return 0
  }
  const file = resolve(values.config)
  const loaded = await load(file)
  if (loaded === undefined) return 1
  const log = createLogger(loaded.log)
  const started = performance.now()
  const supervisor = new Supervisor(loaded, {
    log,
    onReady: (listener, worker) =>
      log.info('ready', { listener, worker, ms: Math.round(performance.now() - started) }),
  })
  try {
    await supervisor.start()
  } catch (error) {
    log.error('cannot start', { error })
    return 1
  }
  process.on('SIGHUP', () => {
    log.info('SIGHUP: reloading', { config: file })
    void load(file).then((config) => (config ? supervisor.reload(config) : undefined))
  })
  const signal = await new Promise<string>((done) => {
    for (const name of ['SIGTERM', 'SIGINT'] as const) process.once(name, () => done(name))
  })
  log.info(`${signal}: draining`)
  await supervisor.drain()
  log.info('stopped')
  return 0
}

async function load(file: string): Promise<ResolvedConfig | undefined> {
  const result = await loadConfig(file, { checkEgressRule })
  if (result.ok) return result.config
  process.stderr.write(`${formatIssues(result.errors)}\n`)
  return undefined
}

/** The egress module's own parser, so that `serve` rejects a bad rule before anything starts. */
function checkEgressRule(rule: string): string | undefined {
  try {
    parseRule(rule, 'the egress policy')
    return undefined
  } catch (error) {
    return (error as Error).message
  }
}
