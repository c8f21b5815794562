/**
 * Certificate and key files: their schemas, and the check that a key goes
 * with its certificate, so that a wrong pair fails at load time with the
 * file names rather than at the first handshake.
 */
import { object } from './containers.ts'
import { type FileRef, textFile } from './files.ts'
import { type Context, type Path, pipe, type Schema, show } from './validate.ts'

const CERTIFICATE = /-----BEGIN CERTIFICATE-----/
const PRIVATE_KEY = /-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----/

/**
 * A path to a PEM certificate (chain) file.
 *
 * @example
 * object({ cert: certificateFile('/etc/sockworker') })
 */
export function certificateFile(dir: string): Schema<FileRef> {
  return textFile(dir, {
    expected: 'a path to a PEM certificate file',
    check: (text, name) =>
      CERTIFICATE.test(text)
        ? undefined
        : `${show(name)} has no PEM certificate (no "-----BEGIN CERTIFICATE-----" line)`,
  })
}

/**
 * A path to a PEM private key file.
 *
 * @example
 * object({ key: privateKeyFile('/etc/sockworker') })
 */
export function privateKeyFile(dir: string): Schema<FileRef> {
  return textFile(dir, {
    expected: 'a path to a PEM private key file',
    check: (text, name) =>
      PRIVATE_KEY.test(text)
        ? undefined
        : `${show(name)} has no PEM private key (no "-----BEGIN … PRIVATE KEY-----" line)`,
  })
}

/**
 * Once both files are read, checks that OpenSSL accepts them as a pair;
 * a mismatch is reported at `keyPath`.
 */
export function checkKeyPair(ctx: Context, cert: FileRef, key: FileRef, keyPath: Path): void {
  ctx.defer(
    Promise.all([cert.loaded, key.loaded]).then(([certRead, keyRead]) => {
      if (!certRead || !keyRead) return []
      try {
        // Loaded here, for configs with TLS only: node:tls slows every start by about 50 ms.
        const { createSecureContext } = process.getBuiltinModule('node:tls')
        createSecureContext({ cert: cert.text, key: key.text })
        return []
      } catch (error) {
        const why = error instanceof Error ? error.message : String(error)
        const message = `${show(key.name)} does not go with the certificate ${show(cert.name)}: ${why}`
        return [{ path: keyPath, message }]
      }
    }),
  )
}

/** Host names that may select a certificate: `a.example.com` or `*.example.com`. */
export const SNI_HOST =
  /^(?:\*\.)?[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*$/
export const SNI_HOST_EXPECTED = 'a host name such as "a.example.com" or "*.example.com"'

/**
 * One SNI entry: `{ cert = "a.pem", key = "a-key.pem" }`.
 *
 * @example
 * record(sniEntry(dir), { key: SNI_HOST, keyExpected: SNI_HOST_EXPECTED })
 */
export function sniEntry(dir: string): Schema<{ cert: FileRef; key: FileRef }> {
  return pipe(
    object({ cert: certificateFile(dir), key: privateKeyFile(dir) }),
    (entry, path, ctx) => {
      checkKeyPair(ctx, entry.cert, entry.key, [...path, 'key'])
      return entry
    },
  )
}
