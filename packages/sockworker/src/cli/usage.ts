/** The CLI's help texts and its usage error. */

export const mainHelp = `sockworker: Socket Workers, raw TCP, TLS and UDP for JavaScript

Usage:
  sockworker dev <worker.ts|js> [options]   run one worker for development, reloading on change
  sockworker dev [options]                  the same, for the worker of ./wrangler.toml or .jsonc
  sockworker serve [--config FILE]          run the workers of a config file (default sockworker.toml)
  sockworker tunnel serve --listen [host:]port --to host:port [--token-file F] [--cert F --key F]
                                            relay WebSocket connections to a TCP target (a database)
  sockworker --version
  sockworker <command> --help

Exit codes: 0 done, 1 failed (bad config, worker failed to load, port in use), 2 usage error.
`

export const devHelp = `Usage: sockworker dev <worker.ts|js> [options]
       sockworker dev [options]     in a folder with wrangler.toml, wrangler.jsonc or wrangler.json

Without a worker file, dev reads the wrangler config in the current folder:
name, main (the worker), vars (into env; --var overrides) and
compatibility_date (checked). Other keys (routes, bindings, build, …) are
ignored, and dev says which. The listeners come from the flags below.

Listeners (each may be repeated; host defaults to 127.0.0.1, port 0 picks a free one):
  --tcp [host:]port            TCP; with --cert/--key, the worker may call socket.startTls()
  --tls [host:]port            TLS, terminated with --cert and --key
  --udp [host:]port            UDP; each remote address and port is one socket (a flow)
  --quic [host:]port           QUIC with --cert, --key and --alpn; each connection is one socket
  --http [host:]port           HTTP, for the worker's fetch handler
  --cert FILE --key FILE       certificate and key (PEM) for --tls, --quic and StartTLS
  --alpn PROTO                 an ALPN protocol for --quic (required) and --tls (repeatable)
  --allow-half-open            tcp/tls: keep writing after the client ends its side (default: close both)
Worker:
  --var KEY=VALUE              put KEY in env (repeatable)
  --storage NAME=FILE          a key-value binding on env.NAME, kept in the SQLite FILE (repeatable)
  --storage NAME=URL           ... or on a server: redis://host:port/db, postgres://user:pw@host/db
  --log-level LEVEL            debug, info, warn or error (default info)
  --compatibility MODE         workerd (default: drivers take their Workers path) or node

Prints "ready <type> <host>:<port>" for each listener, reloads when a file
next to the worker changes, and keeps the last good version serving when a
change does not load. Outbound connections are not restricted in dev, and
the worker is not sandboxed: it may read and write any file, run programs
and see the environment.
`

export const serveHelp = `Usage: sockworker serve [--config FILE]

Runs every worker in FILE (default: sockworker.toml) with its listeners,
replicas, limits and egress policy. Logs are JSON lines. Each replica is
sandboxed: it reads only its worker's files and writes only its storage,
and runs as [workers.sandbox] user (default nobody) when started as root.
See docs/security.md.
  SIGHUP    reload the config and the workers; open connections finish on the old version
  SIGTERM   stop accepting, let open connections finish (limits.drain_timeout_ms), exit
`

/** A mistake on the command line: exit code 2, with a pointer to --help. */
export class UsageError extends Error {
  override name = 'UsageError'
}
