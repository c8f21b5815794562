/**
 * Test certificates, made once per process with the `openssl` CLI.
 *
 * Generated rather than checked in, so nothing in the repository expires and
 * no private key is ever committed. EC P-256 keys keep generation fast.
 */
import { execFile } from 'node:child_process'
import { rmSync } from 'node:fs'
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)

/** A PEM certificate and its PEM private key. */
export interface KeyPair {
  cert: string
  key: string
}

/** Paths to the same PEM files, for CLI peers such as `openssl s_server`. */
export interface CertFiles {
  ca: string
  caKey: string
  serverCert: string
  serverKey: string
  wrongHostCert: string
  wrongHostKey: string
  expiredCert: string
  expiredKey: string
  untrustedCert: string
  untrustedKey: string
  clientCert: string
  clientKey: string
}

/** Every certificate the TLS tests need. */
export interface CertSet {
  /** The temporary directory holding the files; removed when the process exits. */
  dir: string
  /** The test CA certificate (PEM); it signs everything except `untrusted`. */
  ca: string
  /** localhost, 127.0.0.1 and ::1, signed by the CA. */
  server: KeyPair
  /** Only "wrong.example", signed by the CA. */
  wrongHost: KeyPair
  /** localhost, 127.0.0.1 and ::1, signed by the CA, valid only during 2020. */
  expired: KeyPair
  /** localhost, 127.0.0.1 and ::1, self-signed, so no client trusts it. */
  untrusted: KeyPair
  /** CN=client, signed by the CA, for mutual TLS. */
  client: KeyPair
  files: CertFiles
}

let cached: Promise<CertSet> | undefined

/**
 * The shared certificate set. The first call runs `openssl`; later calls in the
 * same process return the same promise, so every test can simply await it.
 *
 * @example
 * const certs = await makeCerts()
 * const server = listen({ type: 'tls', tls: certs.server })
 * connect(addr, { secureTransport: 'on', tls: { ca: certs.ca } })
 */
export function makeCerts(): Promise<CertSet> {
  cached ??= generate()
  return cached
}

const SERVER_SAN = 'DNS:localhost,IP:127.0.0.1,IP:::1'
const WRONG_SAN = 'DNS:wrong.example'

async function generate(): Promise<CertSet> {
  const dir = await mkdtemp(join(tmpdir(), 'sockworker-certs-'))
  // Synchronous on purpose: 'exit' listeners cannot await.
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }))
  await writeCaConfig(dir)

  const ca = await selfSigned(dir, 'ca', '/CN=sockworker test CA', 'ca_ext')
  const untrusted = await selfSigned(dir, 'untrusted', '/CN=localhost', 'self_server')
  // `openssl ca` updates one database and serial file: sign one at a time.
  const server = await signed(dir, 'server', '/CN=localhost', 'server', SERVER_SAN)
  const wrongHost = await signed(dir, 'wrong-host', '/CN=wrong.example', 'server', WRONG_SAN)
  const expired = await signed(dir, 'expired', '/CN=localhost', 'server', SERVER_SAN, [
    ...['-startdate', '20200101000000Z', '-enddate', '20201231235959Z'],
  ])
  const client = await signed(dir, 'client', '/CN=client', 'client')

  const at = (name: string) => join(dir, name)
  return {
    dir,
    ca: ca.cert,
    server,
    wrongHost,
    expired,
    untrusted,
    client,
    files: {
      ca: at('ca.crt'),
      caKey: at('ca.key'),
      serverCert: at('server.crt'),
      serverKey: at('server.key'),
      wrongHostCert: at('wrong-host.crt'),
      wrongHostKey: at('wrong-host.key'),
      expiredCert: at('expired.crt'),
      expiredKey: at('expired.key'),
      untrustedCert: at('untrusted.crt'),
      untrustedKey: at('untrusted.key'),
      clientCert: at('client.crt'),
      clientKey: at('client.key'),
    },
  }
}

const NEW_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes']

/** `req -x509`: a new key and a certificate signed by that same key. */
async function selfSigned(dir: string, name: string, subj: string, ext: string): Promise<KeyPair> {
  const args = ['req', '-config', 'ca.cnf', '-x509', ...NEW_KEY, '-days', '3650', '-subj', subj]
  args.push('-extensions', ext, '-keyout', `${name}.key`, '-out', `${name}.crt`)
  await openssl(dir, SERVER_SAN, ...args)
  return pair(dir, name)
}

/**
 * A new key and CSR, then `openssl ca` signs it with the test CA. `san` has a
 * placeholder default because the config reads `$SAN` even where unused.
 */
async function signed(
  dir: string,
  name: string,
  subj: string,
  ext: 'server' | 'client',
  san = 'DNS:unused.invalid',
  extra: string[] = [],
): Promise<KeyPair> {
  const csr = ['req', '-config', 'ca.cnf', '-new', ...NEW_KEY, '-subj', subj]
  await openssl(dir, san, ...csr, '-keyout', `${name}.key`, '-out', `${name}.csr`)
  const sign = ['ca', '-config', 'ca.cnf', '-batch', '-notext', '-extensions', ext, ...extra]
  await openssl(dir, san, ...sign, '-in', `${name}.csr`, '-out', `${name}.crt`)
  return pair(dir, name)
}

async function pair(dir: string, name: string): Promise<KeyPair> {
  const [cert, key] = await Promise.all([
    readFile(join(dir, `${name}.crt`), 'utf8'),
    readFile(join(dir, `${name}.key`), 'utf8'),
  ])
  return { cert, key }
}

/** Runs openssl in `dir`; the config reads the subjectAltName from `$SAN`. */
async function openssl(dir: string, san: string, ...args: string[]): Promise<void> {
  try {
    await run('openssl', args, { cwd: dir, env: { ...process.env, SAN: san } })
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? ''
    throw new Error(`openssl ${args.join(' ')} failed: ${stderr.trim()}`, { cause: error })
  }
}

/**
 * `openssl ca` is the one OpenSSL 3.0 command that takes explicit validity
 * dates (`x509 -not_before` arrived in 3.4), which the expired certificate
 * needs; every leaf goes through it so there is one code path. The config
 * also replaces the system one, whose default extensions would clash.
 */
async function writeCaConfig(dir: string): Promise<void> {
  await mkdir(join(dir, 'issued'))
  await writeFile(join(dir, 'index.txt'), '')
  await writeFile(join(dir, 'serial'), '1000\n')
  await writeFile(join(dir, 'ca.cnf'), CA_CONFIG)
}

const LEAF = `basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
subjectKeyIdentifier = hash`

const CA_CONFIG = `[req]
distinguished_name = dn
[dn]
[ca]
default_ca = test_ca
[test_ca]
database = index.txt
new_certs_dir = issued
serial = serial
certificate = ca.crt
private_key = ca.key
default_md = sha256
default_days = 3650
policy = any_name
unique_subject = no
email_in_dn = no
[any_name]
commonName = supplied
[ca_ext]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[self_server]
${LEAF}
extendedKeyUsage = serverAuth
subjectAltName = $ENV::SAN
[server]
${LEAF}
authorityKeyIdentifier = keyid
extendedKeyUsage = serverAuth
subjectAltName = $ENV::SAN
[client]
${LEAF}
authorityKeyIdentifier = keyid
extendedKeyUsage = clientAuth
`
