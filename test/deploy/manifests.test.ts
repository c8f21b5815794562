/**
 * deploy/: every Kubernetes object in deploy/kubernetes/*.yaml validates
 * against the Kubernetes OpenAPI schemas (kubernetes-models), the probes
 * and HAProxy's checks point at /healthz on the metrics port, the
 * ConfigMap carries deploy/sockworker.toml unchanged, HAProxy accepts its
 * config (`haproxy -c`), and the worked example config validates with
 * sockworker's own loader.
 *
 * The Dockerfile is not built: there is no container engine here.
 */
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { Deployment } from 'kubernetes-models/apps/v1'
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1'
import { ConfigMap, Service } from 'kubernetes-models/v1'
import { parseAllDocuments } from 'yaml'
import { loadConfig } from '../../packages/sockworker/src/config/load.ts'

const root = fileURLToPath(new URL('../../', import.meta.url))
const dir = join(root, 'deploy', 'kubernetes')

/** The classes of the kinds deploy/ uses; an unknown kind fails the test. */
const kinds: Record<string, { validate(): void } & (new (data: never) => { validate(): void })> = {
  'v1/ConfigMap': ConfigMap as never,
  'v1/Service': Service as never,
  'apps/v1/Deployment': Deployment as never,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget as never,
}

interface Manifest {
  file: string
  apiVersion: string
  kind: string
  metadata: { name: string }
  [key: string]: unknown
}

async function manifests(): Promise<Manifest[]> {
  const found: Manifest[] = []
  for (const file of (await readdir(dir)).filter((name) => name.endsWith('.yaml'))) {
    for (const document of parseAllDocuments(await readFile(join(dir, file), 'utf8'))) {
      assert.deepEqual(document.errors, [], `${file}: YAML errors`)
      found.push({ ...(document.toJS() as Omit<Manifest, 'file'>), file } as Manifest)
    }
  }
  return found
}

const byName = (all: Manifest[], kind: string, name: string) => {
  const found = all.find((m) => m.kind === kind && m.metadata.name === name)
  assert.ok(found, `no ${kind} ${name} in deploy/kubernetes`)
  return found as Record<string, unknown> & Manifest
}

test('every object validates against the Kubernetes schemas', async () => {
  const all = await manifests()
  assert.ok(all.length >= 7, `only ${all.length} objects`)
  for (const { file, ...object } of all) {
    const Model = kinds[`${object.apiVersion}/${object.kind}`]
    assert.ok(Model, `${file}: no schema here for ${object.apiVersion} ${object.kind}`)
    assert.doesNotThrow(
      () => new Model(object as never).validate(),
      `${file}: ${object.kind} ${object.metadata.name}`,
    )
  }
})

test('the validator catches a broken manifest (it can fail)', () => {
  const broken = new Deployment({
    metadata: { name: 'x' },
    spec: {
      selector: { matchLabels: { a: 'b' } },
      template: {
        spec: {
          containers: [{ name: 'c', image: 'i', ports: [{ containerPort: 'metrics' as never }] }],
        },
      },
    },
  })
  assert.throws(() => broken.validate(), /containerPort must be integer/)
})

test('probes ask /healthz on the metrics port; the grace period covers the drain', async () => {
  const all = await manifests()
  type Probe = { httpGet?: { path: string; port: string } }
  const deployment = byName(all, 'Deployment', 'sockworker') as unknown as {
    spec: {
      template: {
        spec: {
          terminationGracePeriodSeconds: number
          containers: Array<
            { ports: Array<{ name: string; containerPort: number }> } & Record<string, Probe>
          >
        }
      }
    }
  }
  const pod = deployment.spec.template.spec
  const [container] = pod.containers
  assert.ok(container)
  const metrics = container.ports.find((p) => p.name === 'metrics')
  assert.equal(metrics?.containerPort, 9464)
  for (const probe of ['readinessProbe', 'livenessProbe', 'startupProbe']) {
    assert.deepEqual(container[probe]?.httpGet, { path: '/healthz', port: 'metrics' }, probe)
  }
  const toml = await readFile(join(root, 'deploy', 'sockworker.toml'), 'utf8')
  assert.match(toml, /\[metrics\]\nlisten = "0\.0\.0\.0:9464"/)
  const delay = Number(/\[drain\]\ndelay_ms = (\d+)/.exec(toml)?.[1])
  const drains = [...toml.matchAll(/drain_timeout_ms = (\d+)/g)].map((m) => Number(m[1]))
  assert.ok(delay > 0 && drains.length > 0)
  assert.ok(pod.terminationGracePeriodSeconds * 1000 > delay + Math.max(...drains))
})

test('the ConfigMap carries deploy/sockworker.toml unchanged', async () => {
  const all = await manifests()
  const map = byName(all, 'ConfigMap', 'sockworker-config') as unknown as {
    data: Record<string, string>
  }
  const toml = await readFile(join(root, 'deploy', 'sockworker.toml'), 'utf8')
  assert.equal(map.data['sockworker.toml'], toml)
})

test('HAProxy accepts its config: PROXY v2 to each pod, checks on /healthz', async () => {
  assert.equal(
    spawnSync('haproxy', ['-v']).status,
    0,
    'haproxy is not installed: run npm run setup',
  )
  const all = await manifests()
  const map = byName(all, 'ConfigMap', 'haproxy-config') as unknown as {
    data: Record<string, string>
  }
  const cfg = map.data['haproxy.cfg'] ?? ''
  assert.match(cfg, /default-server send-proxy-v2 check port 9464/)
  assert.match(cfg, /option httpchk GET \/healthz/)
  const scratch = await mkdtemp(join(tmpdir(), 'sockworker-deploy-'))
  try {
    await writeFile(join(scratch, 'haproxy.cfg'), cfg)
    const checked = spawnSync('haproxy', ['-c', '-f', join(scratch, 'haproxy.cfg')], {
      encoding: 'utf8',
    })
    assert.equal(checked.status, 0, `${checked.stdout}${checked.stderr}`)
  } finally {
    await rm(scratch, { recursive: true, force: true })
  }
})

test("the worked example config validates with sockworker's own loader", async () => {
  // Laid out as in the image: /srv/app/{sockworker.toml,kv,mqtt}.
  const app = await mkdtemp(join(tmpdir(), 'sockworker-deploy-'))
  try {
    await symlink(join(root, 'examples', 'kv'), join(app, 'kv'))
    await symlink(join(root, 'examples', 'mqtt'), join(app, 'mqtt'))
    const toml = await readFile(join(root, 'deploy', 'sockworker.toml'), 'utf8')
    await writeFile(join(app, 'sockworker.toml'), toml)
    const result = await loadConfig(join(app, 'sockworker.toml'), {
      env: { DB_PASSWORD: 'from-a-secret' },
    })
    if (!result.ok) assert.fail(result.errors.map((e) => `${e.path}: ${e.message}`).join('\n'))
    assert.deepEqual(
      result.config.workers.map((w) => [w.name, w.replicas, w.listeners[0]?.proxyProtocol]),
      [
        ['kv', 2, 'v2'],
        ['mqtt', 2, 'v2'],
      ],
    )
  } finally {
    await rm(app, { recursive: true, force: true })
  }
})
