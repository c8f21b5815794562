/**
 * The service-worker form of `fetch`, as Cloudflare Workers first shipped it:
 * `addEventListener('fetch', (event) => event.respondWith(…))`. Before the
 * fix, such a worker loaded and then answered every request with a 500,
 * "The worker has no fetch handler", because only `connect` events were
 * wired. One `sockworker dev --http` worker covers each behaviour.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { type Cli, readyPorts, startCli, tempProject } from './cli.ts'

const WORKER = `
let finished = 0

addEventListener('fetch', (event) => {
  const url = new URL(event.request.url)
  switch (url.pathname) {
    case '/sync':
      return event.respondWith(new Response('ok'))
    case '/promise':
      return event.respondWith(event.request.text().then((body) => new Response('got ' + body)))
    case '/wait-until':
      event.waitUntil(new Promise((resolve) => setTimeout(resolve, 20)).then(() => finished++))
      return event.respondWith(new Response('started'))
    case '/finished':
      return event.respondWith(new Response(String(finished)))
    case '/throws':
      event.passThroughOnException()
      throw new Error('listener failed on purpose')
    case '/rejects':
      return event.respondWith(Promise.reject(new Error('response failed on purpose')))
    case '/twice':
      event.respondWith(new Response('first'))
      try {
        event.respondWith(new Response('second'))
      } catch (error) {
        console.log('second respondWith: ' + error.name)
      }
      return
    case '/late':
      setTimeout(() => {
        try {
          event.respondWith(new Response('too late'))
        } catch (error) {
          console.log('late respondWith: ' + error.name)
        }
      }, 0)
      return
    case '/env':
      return event.respondWith(Response.json({ greeting: event.env.GREETING }))
  }
  // Any other path: no respondWith at all.
})
`

describe('addEventListener("fetch") workers answer HTTP', () => {
  let cli: Cli
  let base: string
  let project: Awaited<ReturnType<typeof tempProject>>

  before(async () => {
    project = await tempProject({ 'worker.js': WORKER })
    cli = startCli(['dev', project.path('worker.js'), '--http', '0', '--var', 'GREETING=hi'])
    const { http } = await readyPorts(cli, ['http'])
    base = `http://127.0.0.1:${http}`
  })
  after(async () => {
    await cli.stop()
    await project[Symbol.asyncDispose]()
  })

  async function get(path: string, init?: RequestInit): Promise<[number, string]> {
    const response = await fetch(base + path, init)
    return [response.status, await response.text()]
  }

  test('respondWith(Response)', async () => {
    assert.deepEqual(await get('/sync'), [200, 'ok'])
  })

  test('respondWith(promise), reading the request body', async () => {
    assert.deepEqual(await get('/promise', { method: 'POST', body: 'data' }), [200, 'got data'])
  })

  test('waitUntil work runs after the response', async () => {
    assert.deepEqual(await get('/wait-until'), [200, 'started'])
    for (const deadline = Date.now() + 5000; ; ) {
      const [, count] = await get('/finished')
      if (count === '1') break
      assert.ok(Date.now() < deadline, 'waitUntil work should finish')
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
  })

  test('event.env holds the vars, as in the connect event', async () => {
    assert.deepEqual(await get('/env'), [200, '{"greeting":"hi"}'])
  })

  test('a throwing listener (even after passThroughOnException) answers 500; the worker lives on', async () => {
    assert.equal((await get('/throws'))[0], 500)
    await cli.waitFor(/listener failed on purpose/)
    await cli.waitFor(/passThroughOnException\(\): sockworker has no origin/)
    assert.deepEqual(await get('/sync'), [200, 'ok'])
  })

  test('a rejected respondWith promise answers 500', async () => {
    assert.equal((await get('/rejects'))[0], 500)
    await cli.waitFor(/response failed on purpose/)
  })

  test('respondWith twice: the first response stands, the second throws InvalidStateError', async () => {
    assert.deepEqual(await get('/twice'), [200, 'first'])
    await cli.waitFor(/second respondWith: InvalidStateError/)
  })

  test('respondWith after the dispatch throws, and the request gets a 500 that says why', async () => {
    assert.equal((await get('/late'))[0], 500)
    await cli.waitFor(/No fetch listener called event\.respondWith\(\)/)
    await cli.waitFor(/late respondWith: InvalidStateError/)
  })
})
