/**
 * The [[workers.listeners]] part of the schema: keys per listener type,
 * certificates, and addresses bound twice anywhere in the file.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { useTestProject, worker } from '../../../../test/helpers/config-project.ts'

const project = useTestProject('listener')
const { valid, issues } = project

describe('listeners', () => {
  it('rejects keys that the listener type does not take', async () => {
    const toml = `[[workers]]\nname = "a"\nscript = "echo/worker.ts"
[[workers.listeners]]\ntype = "udp"\naddress = "7000"\nproxy_protocol = "v1"\nalpn = ["dns"]
[[workers.listeners]]\ntype = "http"\naddress = "7001"\ncert = "token.txt"
[[workers.listeners]]\ntype = "tcp"\naddress = "7002"\nidle_timeout_ms = 10\n`
    const found = await issues(toml)
    assert.deepEqual(found.slice(0, 2), [
      'workers[0].listeners[0].alpn: not allowed for "udp" listeners; only tls and quic listeners negotiate ALPN',
      'workers[0].listeners[0].proxy_protocol: not allowed for "udp" listeners; only tcp and tls take PROXY protocol',
    ])
    // token.txt is not a certificate either; both problems are reported.
    assert.ok(
      found.includes(
        'workers[0].listeners[1].cert: "token.txt" has no PEM certificate (no "-----BEGIN CERTIFICATE-----" line)',
      ),
    )
    assert.ok(
      found.includes(
        'workers[0].listeners[1].cert: not allowed for "http" listeners; only tls, quic and tcp (for StartTLS) use certificates',
      ),
    )
    assert.ok(
      found.includes(
        'workers[0].listeners[2].idle_timeout_ms: not allowed for "tcp" listeners; it is the UDP flow timeout; set [workers.limits] idle_timeout_ms for connections',
      ),
    )
    assert.equal(found.length, 5)
  })

  it('requires a certificate for tls and a key with every cert', async () => {
    const toml = `[[workers]]\nname = "a"\nscript = "echo/worker.ts"
[[workers.listeners]]\ntype = "tls"\naddress = "7000"
[[workers.listeners]]\ntype = "tls"\naddress = "7001"\nsni = {}
[[workers.listeners]]\ntype = "tcp"\naddress = "7002"\nkey = "k.pem"\n`
    const found = await issues(toml)
    assert.deepEqual(
      found.filter((line) => line.includes('required')),
      [
        'workers[0].listeners[0].cert: required key is missing; a tls listener needs cert and key, or sni entries',
        'workers[0].listeners[1].cert: required key is missing; a tls listener needs cert and key, or sni entries',
        'workers[0].listeners[2].cert: required key is missing; key needs its cert',
      ],
    )
  })

  it('requires cert and alpn for quic, and counts quic as UDP when ports clash', async () => {
    const toml = `[[workers]]\nname = "a"\nscript = "echo/worker.ts"
[[workers.listeners]]\ntype = "quic"\naddress = "7000"
[[workers.listeners]]\ntype = "udp"\naddress = "7000"
[[workers.listeners]]\ntype = "tcp"\naddress = "7000"\n`
    const found = await issues(toml)
    assert.deepEqual(found, [
      'workers[0].listeners[0].cert: required key is missing; a quic listener needs cert and key (QUIC is always TLS)',
      'workers[0].listeners[1].address: udp "127.0.0.1:7000" overlaps quic "127.0.0.1:7000" at workers[0].listeners[0].address; two listeners cannot share a UDP address',
    ])
  })

  it('quotes SNI host keys in paths and checks them', async () => {
    const toml = worker('a', '7000').replace(
      'type = "tcp"',
      'type = "tls"\nsni = { "a b" = { cert = "c.pem", key = "k.pem" } }',
    )
    assert.deepEqual(await issues(toml), [
      'workers[0].listeners[0].sni."a b": key is not a host name such as "a.example.com" or "*.example.com"',
    ])
  })

  it('reports two listeners on one address anywhere in the file', async () => {
    const toml =
      `[metrics]\nlisten = "9464"\n` +
      worker('a', '7000') +
      worker('b', '127.0.0.1:7000') +
      worker('c', '0.0.0.0:7003').replace('"tcp"', '"tls"') +
      worker('d', '127.0.0.1:7003').replace('"tcp"', '"http"') +
      worker('e', '9464').replace('"tcp"', '"http"')
    const found = await issues(toml)
    assert.deepEqual(
      found.filter((line) => line.includes('overlaps')),
      [
        'workers[1].listeners[0].address: tcp "127.0.0.1:7000" overlaps tcp "127.0.0.1:7000" at workers[0].listeners[0].address; two listeners cannot share a TCP address',
        'workers[3].listeners[0].address: http "127.0.0.1:7003" overlaps tls "0.0.0.0:7003" at workers[2].listeners[0].address; two listeners cannot share a TCP address',
        'workers[4].listeners[0].address: http "127.0.0.1:9464" overlaps metrics "127.0.0.1:9464" at metrics.listen; two listeners cannot share a TCP address',
      ],
    )
  })

  it('lets tcp and udp share a port, and port 0 repeat', async () => {
    const udp = worker('b', '7000').replace('"tcp"', '"udp"')
    const config = await valid(worker('a', '7000') + udp + worker('c', '0') + worker('d', '0'))
    assert.equal(config.workers.length, 4)
  })
})

describe('allow_half_open', () => {
  it('is false unless set, and only tcp and tls take it', async () => {
    const config = await project.valid(
      '[[workers]]\nname = "a"\nscript = "echo/worker.ts"\n' +
        '[[workers.listeners]]\ntype = "tcp"\naddress = "7000"\nallow_half_open = true\n' +
        '[[workers.listeners]]\ntype = "tcp"\naddress = "7001"\n',
    )
    assert.deepEqual(
      config.workers[0]?.listeners.map((l) => l.allowHalfOpen),
      [true, false],
    )
    const found = await project.issues(
      '[[workers]]\nname = "a"\nscript = "echo/worker.ts"\n' +
        '[[workers.listeners]]\ntype = "udp"\naddress = "7000"\nallow_half_open = true\n' +
        '[[workers.listeners]]\ntype = "tcp"\naddress = "7001"\nallow_half_open = "yes"\n',
    )
    assert.deepEqual(found, [
      'workers[0].listeners[0].allow_half_open: not allowed for "udp" listeners; only tcp and tls connections half-close',
      'workers[0].listeners[1].allow_half_open: "yes" is not true or false',
    ])
  })
})
