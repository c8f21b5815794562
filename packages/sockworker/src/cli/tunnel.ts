/**
 * `sockworker tunnel serve`: the daemon that sits next to a database and
 * relays WebSocket connections from workers to it (see ../tunnel/).
 */
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { readTokenFile } from '../tunnel/auth.ts'
import { startTunnelServer } from '../tunnel/server.ts'
import { listenAddressFlag } from './listener-flags.ts'
import { UsageError } from './usage.ts'

export const tunnelHelp = `Usage: sockworker tunnel serve --listen [host:]port --to host:port [options]

Accepts WebSocket connections and relays each one to a TCP connection to
the target: put it next to a database, and point workers at it with
connect('db:5432', { via: { url: 'wss://tunnel.example:8443', token } }).
  --listen [host:]port    where to accept WebSockets (host defaults to 127.0.0.1; port 0 picks one)
  --to host:port          the TCP target, as seen from this machine
  --token-file FILE       a file holding the token clients must present; without it, anyone
                          who can reach --listen reaches the target
  --cert FILE --key FILE  serve wss:// with this certificate and key (PEM)

Prints "ready tunnel <host>:<port> -> <target>", then one line per connection
opened, closed (with bytes each way) or refused. SIGTERM closes every
connection and exits.
`

/** Runs `sockworker tunnel <subcommand>`; resolves with the exit code. */
export async function tunnel(argv: string[]): Promise<number> {
  const [command, ...rest] = argv
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(tunnelHelp)
    return command === undefined ? 2 : 0
  }
  if (command !== 'serve') {
    throw new UsageError(`Unknown tunnel command "${command}": expected serve`)
  }
  const { values } = parseArgs({
    args: rest,
    options: {
      listen: { type: 'string' },
      to: { type: 'string' },
      'token-file': { type: 'string' },
      cert: { type: 'string' },
      key: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  })
  if (values.help) {
    process.stdout.write(tunnelHelp)
    return 0
  }
  if (values.listen === undefined) throw new UsageError('Give --listen [host:]port')
  if (values.to === undefined) throw new UsageError('Give --to host:port, the TCP target')
  const listen = listenAddressFlag(values.listen, '--listen')
  const to = listenAddressFlag(values.to, '--to')
  if (to.port === 0) throw new UsageError(`--to "${values.to}": the target needs a port`)
  const label = to.hostname.includes(':')
    ? `[${to.hostname}]:${to.port}`
    : `${to.hostname}:${to.port}`
  const token = readToken(values['token-file'])
  const tls = readTls(values.cert, values.key)
  return serve({ listen, target: { ...to, label }, token, tls })
}

async function serve(options: {
  listen: { hostname: string; port: number }
  target: { hostname: string; port: number; label: string }
  token: string | undefined
  tls: { cert: string; key: string } | undefined
}): Promise<number> {
  const log = (line: string) => console.log(line)
  let server: Awaited<ReturnType<typeof startTunnelServer>>
  try {
    server = await startTunnelServer({ ...options, log })
  } catch (error) {
    console.error((error as Error).message)
    return 1
  }
  const host = server.hostname.includes(':') ? `[${server.hostname}]` : server.hostname
  if (options.token === undefined) {
    console.log(
      `warning: no --token-file: anyone who can reach ${host}:${server.port} can reach ${options.target.label}`,
    )
  }
  console.log(`ready tunnel ${host}:${server.port} -> ${options.target.label}`)
  await new Promise<void>((resolve) => {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => resolve())
  })
  await server.close()
  return 0
}

function readToken(file: string | undefined): string | undefined {
  if (file === undefined) return undefined
  try {
    return readTokenFile(file)
  } catch (error) {
    throw new UsageError(`--token-file: ${(error as Error).message}`)
  }
}

function readTls(cert: string | undefined, key: string | undefined) {
  if (cert === undefined && key === undefined) return undefined
  if (cert === undefined || key === undefined) throw new UsageError('--cert and --key go together')
  const read = (file: string, flag: string) => {
    try {
      return readFileSync(file, 'utf8')
    } catch (error) {
      throw new UsageError(`${flag} "${file}": ${(error as Error).message}`)
    }
  }
  return { cert: read(cert, '--cert'), key: read(key, '--key') }
}
