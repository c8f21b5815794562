/**
 * `[workers.sandbox]`: what a worker may do beyond serving connections
 * under `sockworker serve`, and the account its replicas run as when
 * `serve` starts as root. See docs/security.md.
 *
 * ```toml
 * [workers.sandbox]
 * allow = ["child_process"]   # default: none
 * user = "sockworker"         # default: "nobody"
 * read = ["../shared"]        # more folders to read, relative to the config; default none
 * ```
 */
import { readFileSync } from 'node:fs'
import { isAbsolute, resolve } from 'node:path'
import { array, object } from './containers.ts'
import type { SandboxCapability, SandboxUser } from './types.ts'
import { oneOf, pipe, type Schema, string, withDefault } from './validate.ts'

/** The capabilities `allow` may name, each refused unless named. */
export const sandboxCapabilities = [
  'child_process',
  'worker_threads',
  'addons',
  'wasi',
  // Outbound QUIC: the runtime's native QUIC engine, loaded before the lockdown.
  'quic',
] as const

/** Used when the system has no `nobody` account: the conventional overflow id. */
const nobody: SandboxUser = { name: 'nobody', uid: 65_534, gid: 65_534 }

/**
 * The schema of `[workers.sandbox]`. `user` is a name from /etc/passwd or
 * a numeric "uid" or "uid:gid". `read` folders are relative to `dir`, the
 * config file's folder, and become absolute.
 *
 * @example
 * const worker = object({ sandbox: sandboxSchema('/srv/app') })
 */
export function sandboxSchema(dir: string) {
  const user = pipe(
    string({ expected: 'a user name from /etc/passwd, or "uid" or "uid:gid"' }),
    (value, path, ctx) => {
      const found = lookupUser(value)
      if (typeof found !== 'string') return found
      return ctx.report(path, found)
    },
  )
  const capability: Schema<SandboxCapability> = oneOf(sandboxCapabilities)
  return object({
    allow: withDefault(array(capability), () => []),
    user: withDefault(user, () => lookupUser('nobody') as SandboxUser),
    read: withDefault(
      array(
        pipe(string({ expected: 'a folder path' }), (value) =>
          isAbsolute(value) ? value : resolve(dir, value),
        ),
      ),
      () => [],
    ),
  })
}

/**
 * The account `spec` names, or what is wrong with it. Node has no
 * getpwnam(), so names are looked up in /etc/passwd (NSS sources such as
 * LDAP are not consulted: give such accounts as "uid:gid").
 */
export function lookupUser(spec: string): SandboxUser | string {
  const numeric = /^(\d+)(?::(\d+))?$/.exec(spec)
  if (numeric !== null) {
    const uid = Number(numeric[1])
    const gid = numeric[2] === undefined ? uid : Number(numeric[2])
    if (uid > 0xfffffffe || gid > 0xfffffffe) return `${JSON.stringify(spec)} is out of range`
    return { name: spec, uid, gid }
  }
  for (const line of readPasswd().split('\n')) {
    const [name, , uid, gid] = line.split(':')
    if (name === spec && uid !== undefined && gid !== undefined) {
      return { name, uid: Number(uid), gid: Number(gid) }
    }
  }
  if (spec === 'nobody') return nobody
  return `user ${JSON.stringify(spec)} is not in /etc/passwd; create it, or give a numeric "uid:gid" such as "65534:65534"`
}

function readPasswd(): string {
  try {
    return readFileSync('/etc/passwd', 'utf8')
  } catch {
    return ''
  }
}
