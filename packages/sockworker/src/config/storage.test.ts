/**
 * `[workers.storage]` with Redis and PostgreSQL URLs: what is accepted,
 * where the password comes from, and what each mistake says.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { useTestProject, worker } from '../../../../test/helpers/config-project.ts'

const project = useTestProject('storage')
const { valid, issues } = project

const secrets = 'secrets = { DB_PASSWORD = { file = "token.txt" } }\n'

describe('storage bindings on servers', () => {
  it('takes redis:// and postgres:// URLs, with defaults, and a password from a secret', async () => {
    const config = await valid(
      worker(
        'echo',
        '7000',
        `${secrets}[workers.storage]
CACHE = { url = "redis://cache.internal:6379/2" }
DB = { url = "postgres://app@db.internal:5432/app", password_secret = "DB_PASSWORD", namespace = "shop", timeout_ms = 2000 }
INLINE = { url = "postgresql://app:pw@db.internal/app" }`,
      ),
    )
    assert.deepEqual(config.workers[0]?.storage, {
      CACHE: { url: 'redis://cache.internal:6379/2', namespace: 'sockworker', timeoutMs: 5000 },
      DB: {
        url: 'postgres://app@db.internal:5432/app',
        password: 's3cret',
        namespace: 'shop',
        timeoutMs: 2000,
      },
      INLINE: {
        url: 'postgresql://app:pw@db.internal/app',
        namespace: 'sockworker',
        timeoutMs: 5000,
      },
    })
  })

  it('says what is wrong with each binding, and never shows a password', async () => {
    const found = await issues(
      worker(
        'echo',
        '7000',
        `${secrets}[workers.storage]
A = { url = "mysql://db/app" }
B = { url = "not a url" }
D = { url = "postgres://app:hunter2@db/app", password_secret = "DB_PASSWORD" }
E = { path = "x.sqlite", url = "redis://h" }
F = {}
G = { path = "x.sqlite", namespace = "n" }
H = { url = "redis://h", namespace = "Bad-Name" }
I = { url = "rediss://h:6380" }
J = { url = "redis:///0" }`,
      ),
    )
    assert.deepEqual(found, [
      'workers[0].storage.A.url: scheme "mysql:" is not a storage backend; use redis://, postgres:// or postgresql://',
      'workers[0].storage.B.url: "not a url" is not a URL; expected a redis:// or postgres:// URL',
      'workers[0].storage.D.url: has a password and password_secret names one too; keep only password_secret',
      'workers[0].storage.E: give path (SQLite) or url (Redis, PostgreSQL), not both',
      'workers[0].storage.F: needs a path (SQLite), as { path = "data/kv.sqlite" }, or a url, as { url = "redis://host:6379" }',
      'workers[0].storage.G: namespace applies only to a url binding, not a SQLite path',
      'workers[0].storage.H.namespace: "Bad-Name" is not up to 40 lowercase letters, digits and "_", not starting with a digit',
      'workers[0].storage.I.url: scheme "rediss:" (Redis over TLS) is not supported yet; use redis://, postgres:// or postgresql://',
      'workers[0].storage.J.url: "redis:///0" names no host, as in "redis://host:port"',
    ])
    assert.ok(!found.join('\n').includes('hunter2'))
  })

  it("wants password_secret to name one of the worker's secrets", async () => {
    const found = await issues(
      worker(
        'echo',
        '7000',
        `${secrets}[workers.storage]\nC = { url = "postgres://app@db/app", password_secret = "MISSING" }`,
      ),
    )
    assert.deepEqual(found, [
      `workers[0].storage.C.password_secret: "MISSING" is not one of this worker's secrets; add it under [workers.secrets]`,
    ])
  })
})
