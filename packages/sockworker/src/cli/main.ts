#!/usr/bin/env node
/**
 * The `sockworker` command.
 */
import { readFileSync } from 'node:fs'
import { mainHelp, UsageError } from './usage.ts'

/** Loaded on demand, so that `--help` and each command load only what they use. */
const commands: Record<string, () => Promise<(argv: string[]) => Promise<number>>> = {
  dev: async () => (await import('./dev.ts')).dev,
  serve: async () => (await import('./serve.ts')).serve,
  tunnel: async () => (await import('./tunnel.ts')).tunnel,
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(mainHelp)
    return command === undefined ? 2 : 0
  }
  if (command === '--version' || command === '-v') {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'))
    console.log(pkg.version)
    return 0
  }
  const load = commands[command]
  if (load === undefined)
    throw new UsageError(`Unknown command "${command}": expected dev, serve or tunnel`)
  return (await load())(rest)
}

try {
  process.exitCode = await main(process.argv.slice(2))
  // Whatever a worker left behind (timers, sockets) must not keep the CLI alive.
  process.exit()
} catch (error) {
  if (
    error instanceof UsageError ||
    (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')
  ) {
    console.error(`sockworker: ${(error as Error).message}\nRun "sockworker --help" for usage.`)
    process.exitCode = 2
  } else {
    console.error(error)
    process.exitCode = 1
  }
}
