/**
 * The socket API on Bun against Bun's own raw API. bench/run.ts runs these
 * in a Bun child process (they need `globalThis.Bun`), in the same run as
 * the Node scenarios.
 */
import type { Scenario } from '../common.ts'
import * as pingPong from './ping-pong.ts'
import * as tcpThroughput from './tcp-throughput.ts'

export const bunScenarios: Scenario[] = [tcpThroughput, pingPong]
