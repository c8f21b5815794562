import assert from 'node:assert/strict'
import { test } from 'node:test'
import { type ListenerFlags, listenAddressFlag, listenersFromFlags } from './listener-flags.ts'
import { UsageError } from './usage.ts'

const none: ListenerFlags = {
  tcp: [],
  tls: [],
  udp: [],
  http: [],
  quic: [],
  alpn: [],
  cert: undefined,
  key: undefined,
  'allow-half-open': undefined,
}

test('each flag becomes a listener; the host defaults to loopback', () => {
  const listeners = listenersFromFlags(
    { ...none, tcp: ['7000'], udp: ['0.0.0.0:53'], http: ['[::1]:8080'], 'allow-half-open': true },
    1000,
  )
  assert.deepEqual(
    listeners.map((l) => [l.type, l.hostname, l.port, l.allowHalfOpen, l.idleTimeoutMs]),
    [
      ['tcp', '127.0.0.1', 7000, true, 1000],
      ['udp', '0.0.0.0', 53, false, 30_000],
      ['http', '::1', 8080, false, 1000],
    ],
  )
})

test('usage mistakes are UsageErrors that name the flag', () => {
  assert.throws(() => listenersFromFlags(none, 1000), {
    name: UsageError.name,
    message: /at least one listener/,
  })
  assert.throws(() => listenersFromFlags({ ...none, tls: ['7000'] }, 1000), /--tls needs --cert/)
  assert.throws(
    () => listenersFromFlags({ ...none, tcp: ['0'], cert: 'c.pem' }, 1000),
    /go together/,
  )
  assert.throws(() => listenAddressFlag('localhost', '--tcp'), /--tcp "localhost": port is missing/)
  assert.throws(
    () => listenAddressFlag('70000', '--udp'),
    /--udp "70000": port 70000 is not from 0/,
  )
})
