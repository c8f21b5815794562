/**
 * Resolving a destination and judging every answer. Each answer is judged,
 * not just the first, so that a name with one public and one private address
 * still connects, and only ever to the public one.
 */
import { lookup } from 'node:dns/promises'
import { isIP } from 'node:net'
import { parseLiteral } from './cidr.ts'
import {
  evaluateAddress,
  evaluateAnswers,
  nameDenial,
  type Outcome,
  type RuleSet,
} from './evaluate.ts'

/** Turns a host name into IP literals; rejects as `dns.lookup` does when it cannot. */
export type Resolver = (host: string) => Promise<string[]>

/**
 * The system's resolver: `dns.lookup` with `all: true`, so `/etc/hosts` and
 * the configured result order apply as they would for `net.connect`.
 *
 * @example
 * await systemResolver('localhost') // ['::1', '127.0.0.1'] or similar
 */
export const systemResolver: Resolver = async (host) => {
  const answers = await lookup(host, { all: true })
  return answers.map((answer) => answer.address)
}

/**
 * Decides a destination: an IP literal is judged as is, a deny-listed name
 * is refused before any lookup, any other name is resolved and its answers
 * judged. `family` 4 or 6 keeps only answers of that family, as
 * `dns.lookup`'s option does.
 *
 * @example
 * const outcome = await decide(rules, 'db.internal', 5432, { resolve: systemResolver })
 */
export async function decide(
  rules: RuleSet,
  host: string,
  port: number,
  options: { resolve: Resolver; family?: 0 | 4 | 6 },
): Promise<Outcome> {
  if (parseLiteral(host) !== undefined) return evaluateAddress(rules, host, port)
  const denied = nameDenial(rules, host, port)
  if (denied !== undefined) return { allowed: false, reason: denied }
  const family = options.family ?? 0
  const answers = (await options.resolve(host)).filter(
    (answer) => family === 0 || isIP(answer) === family,
  )
  if (answers.length === 0) throw notFound(host)
  return evaluateAnswers(rules, host, port, answers)
}

/** The error `dns.lookup` gives for a name without (suitable) addresses. */
function notFound(host: string): Error {
  const error = new Error(`getaddrinfo ENOTFOUND ${host}`)
  return Object.assign(error, { code: 'ENOTFOUND', syscall: 'getaddrinfo', hostname: host })
}
