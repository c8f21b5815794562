import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { array, object, record } from './containers.ts'
import { closest, editDistance } from './suggest.ts'
import {
  Context,
  formatPath,
  INVALID,
  type Issue,
  integer,
  oneOf,
  optional,
  type Schema,
  string,
  withDefault,
} from './validate.ts'

/** Runs a schema and returns its value and its issues with formatted paths. */
async function run<T>(schema: Schema<T>, value: unknown) {
  const ctx = new Context()
  const out = schema.check(value, [], ctx)
  const issues = (await ctx.settle()).map((i: Issue) => `${formatPath(i.path)}: ${i.message}`)
  return { out, issues }
}

describe('formatPath', () => {
  it('writes keys, indices and quoted odd keys', () => {
    assert.equal(formatPath(['workers', 0, 'listeners', 1, 'type']), 'workers[0].listeners[1].type')
    assert.equal(formatPath(['sni', 'a.example.com', 'cert']), 'sni."a.example.com".cert')
    assert.equal(formatPath([]), '')
  })
})

describe('closest', () => {
  it('suggests a near miss and nothing for a far one', () => {
    assert.equal(closest('replica', ['name', 'replicas', 'vars']), 'replicas')
    assert.equal(closest('tpc', ['tcp', 'tls', 'udp', 'http']), 'tcp')
    assert.equal(closest('banana', ['tcp', 'tls']), undefined)
    // Equally near to two: no guess.
    assert.equal(closest('v3', ['off', 'v1', 'v2', 'any']), undefined)
    assert.equal(editDistance('ab', 'ba'), 1)
    assert.equal(editDistance('', 'abc'), 3)
  })
})

describe('scalars', () => {
  it('integer reports values out of range, fractions and strings', async () => {
    const schema = integer(1, 256)
    assert.equal((await run(schema, 2)).out, 2)
    assert.deepEqual((await run(schema, 0)).issues, [': 0 is not an integer from 1 to 256'])
    assert.deepEqual((await run(schema, 1.5)).issues, [': 1.5 is not an integer from 1 to 256'])
    assert.deepEqual((await run(schema, '2')).issues, [': "2" is not an integer from 1 to 256'])
    assert.deepEqual((await run(schema, [2])).issues, [
      ': expected an integer from 1 to 256, got an array',
    ])
  })

  it('oneOf lists what is allowed and suggests a near miss', async () => {
    const schema = oneOf(['json', 'pretty'])
    assert.deepEqual((await run(schema, 'jsno')).issues, [
      ': "jsno" is not one of "json", "pretty"; did you mean "json"?',
    ])
    assert.deepEqual((await run(schema, 'xml')).issues, [': "xml" is not one of "json", "pretty"'])
  })

  it('string rejects the empty string and checks a pattern', async () => {
    assert.equal((await run(string(), '')).out, INVALID)
    const word = string({ pattern: /^[a-z]+$/, expected: 'a lowercase word' })
    assert.deepEqual((await run(word, 'A1')).issues, [': "A1" is not a lowercase word'])
  })
})

describe('object', () => {
  const schema = object({
    name: string(),
    replicas: withDefault(integer(1, 256), () => 1),
    note: optional(string()),
  })

  it('applies defaults and leaves optional keys out', async () => {
    const { out, issues } = await run(schema, { name: 'a' })
    assert.deepEqual(issues, [])
    assert.deepEqual(out, { name: 'a', replicas: 1 })
    assert.equal(Object.hasOwn(out as object, 'note'), false)
  })

  it('reports unknown keys, missing keys and bad values all at once', async () => {
    const { out, issues } = await run(schema, { replica: 2, colour: 'red', note: 3 })
    assert.equal(out, INVALID)
    assert.deepEqual(issues, [
      'replica: unknown key; did you mean "replicas"?',
      'colour: unknown key; allowed keys are "name", "replicas", "note"',
      'name: required key is missing; expected a non-empty string',
      'note: 3 is not a non-empty string',
    ])
  })

  it('gives a table of defaults when every key has one', async () => {
    const limits = object({ a: withDefault(integer(0, 9), () => 4), b: optional(string()) })
    const outer = object({ limits })
    assert.deepEqual((await run(outer, {})).out, { limits: { a: 4 } })
  })
})

describe('array and record', () => {
  it('checks every item and names its index', async () => {
    const { issues } = await run(array(integer(0, 9)), [1, 'x', 10])
    assert.deepEqual(issues, [
      '[1]: "x" is not an integer from 0 to 9',
      '[2]: 10 is not an integer from 0 to 9',
    ])
  })

  it('rejects an empty array when told to', async () => {
    const { issues } = await run(
      array(string(), { nonEmpty: true, expected: 'one or more names' }),
      [],
    )
    assert.deepEqual(issues, [': is empty; expected one or more names'])
  })

  it('checks keys and keeps __proto__ an ordinary key', async () => {
    const input = JSON.parse('{"__proto__": "x", "OK": "y"}')
    const { out, issues } = await run(record(string()), input)
    assert.deepEqual(issues, [])
    assert.equal(Object.getPrototypeOf(out), Object.prototype)
    assert.equal(Object.getOwnPropertyDescriptor(out, '__proto__')?.value, 'x')
    const upper = record(string(), { key: /^[A-Z_]+$/, keyExpected: 'upper case' })
    assert.deepEqual((await run(upper, { bad: 'z' })).issues, ['bad: key is not upper case'])
  })
})

describe('Context', () => {
  it('lists deferred issues where they were deferred, whatever finishes first', async () => {
    const ctx = new Context()
    const slow = Promise.withResolvers<Issue[]>()
    ctx.defer(slow.promise)
    ctx.report(['b'], 'second')
    ctx.defer(Promise.resolve([{ path: ['c'], message: 'third' }]))
    slow.resolve([{ path: ['a'], message: 'first' }])
    const issues = await ctx.settle()
    assert.deepEqual(
      issues.map((i) => i.message),
      ['first', 'second', 'third'],
    )
  })

  it('turns a failed deferred check into an issue instead of a rejection', async () => {
    const ctx = new Context()
    ctx.defer(Promise.reject(new Error('boom')))
    assert.deepEqual(await ctx.settle(), [{ path: [], message: 'internal error: Error: boom' }])
  })
})
