/**
 * The input generator: fast-check arbitraries that mostly mutate a target's
 * seeds (flip, overwrite, insert, delete, duplicate, splice, set a 16-bit
 * length field, insert a dictionary token) and sometimes make raw bytes.
 * Mutating well-formed inputs is what gets past magic numbers and length
 * checks that random bytes almost never pass.
 */
import fc from 'fast-check'
import { concat } from '../../test/helpers/bytes.ts'
import type { FuzzTarget } from './target.ts'

/** Values that sit on boundaries: zero, sign bits, all ones, ASCII delimiters. */
const INTERESTING_BYTES = [0x00, 0x01, 0x7f, 0x80, 0xff, 0x20, 0x09, 0x0a, 0x0d, 0x3a, 0x2e, 0x30]
const INTERESTING_U16 = [0, 1, 2, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xfffe, 0xffff]
const PROBE = new TextEncoder()
const GENERIC_TOKENS = ['\r\n', '\r\n\r\n', '\n', ' ', ':', '%', '[', ']', '\u00ff', '\u2028', '😀']

type Mutation =
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'set'; at: number; value: number }
  | { kind: 'u16'; at: number; value: number }
  | { kind: 'insert'; at: number; bytes: Uint8Array }
  | { kind: 'token'; at: number; token: number }
  | { kind: 'delete'; at: number; length: number }
  | { kind: 'duplicate'; at: number; length: number; to: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'splice'; at: number; seed: number; from: number }

/**
 * The arbitrary of inputs for `target`.
 *
 * @example
 * const inputs = fc.sample(inputArbitrary(target), { numRuns: 1000, seed: 1 })
 */
export function inputArbitrary(target: FuzzTarget): fc.Arbitrary<Uint8Array> {
  const maxLength = target.maxLength ?? 4096
  const seeds = target.seeds.length > 0 ? target.seeds : [new Uint8Array(0)]
  const tokens = [...(target.dictionary ?? []), ...GENERIC_TOKENS.map((t) => PROBE.encode(t))]
  const at = fc.nat()
  const mutation: fc.Arbitrary<Mutation> = fc.oneof(
    fc.record({ kind: fc.constant('flip' as const), at, bit: fc.nat(7) }),
    fc.record({
      kind: fc.constant('set' as const),
      at,
      value: fc.oneof(fc.constantFrom(...INTERESTING_BYTES), fc.nat(255)),
    }),
    fc.record({
      kind: fc.constant('u16' as const),
      at,
      value: fc.oneof(fc.constantFrom(...INTERESTING_U16), fc.nat(0xffff)),
    }),
    fc.record({ kind: fc.constant('insert' as const), at, bytes: fc.uint8Array({ maxLength: 8 }) }),
    fc.record({ kind: fc.constant('token' as const), at, token: fc.nat(tokens.length - 1) }),
    fc.record({
      kind: fc.constant('delete' as const),
      at,
      length: fc.integer({ min: 1, max: 32 }),
    }),
    fc.record({
      kind: fc.constant('duplicate' as const),
      at,
      length: fc.integer({ min: 1, max: 64 }),
      to: fc.nat(),
    }),
    fc.record({ kind: fc.constant('truncate' as const), at }),
    fc.record({ kind: fc.constant('splice' as const), at, seed: fc.nat(), from: fc.nat() }),
  )
  const mutated = fc
    .tuple(fc.nat(seeds.length - 1), fc.array(mutation, { minLength: 1, maxLength: 6 }))
    .map(([seed, mutations]) => {
      let input = seeds[seed]!
      for (const step of mutations) input = apply(input, step, seeds, tokens)
      return input.length > maxLength ? input.subarray(0, maxLength) : input
    })
  return fc.oneof(
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: Math.min(maxLength, 64) }) },
    { weight: 1, arbitrary: fc.constantFrom(...seeds) },
    { weight: 10, arbitrary: mutated },
  )
}

function apply(
  input: Uint8Array,
  step: Mutation,
  seeds: readonly Uint8Array[],
  tokens: readonly Uint8Array[],
): Uint8Array {
  const length = input.length
  const at = length === 0 ? 0 : step.at % length
  switch (step.kind) {
    case 'flip':
    case 'set':
    case 'u16': {
      if (length === 0) return input
      const out = input.slice()
      if (step.kind === 'flip') out[at] = out[at]! ^ (1 << step.bit)
      else if (step.kind === 'set') out[at] = step.value
      else {
        out[at] = step.value >> 8
        if (at + 1 < length) out[at + 1] = step.value & 0xff
      }
      return out
    }
    case 'insert':
      return concat([input.subarray(0, at), step.bytes, input.subarray(at)])
    case 'token':
      return concat([input.subarray(0, at), tokens[step.token]!, input.subarray(at)])
    case 'delete':
      return concat([input.subarray(0, at), input.subarray(at + step.length)])
    case 'duplicate': {
      const piece = input.subarray(at, at + step.length)
      const to = length === 0 ? 0 : step.to % (length + 1)
      return concat([input.subarray(0, to), piece, input.subarray(to)])
    }
    case 'truncate':
      return input.subarray(0, at)
    case 'splice': {
      const other = seeds[step.seed % seeds.length]!
      const from = other.length === 0 ? 0 : step.from % other.length
      return concat([input.subarray(0, at), other.subarray(from)])
    }
  }
}
