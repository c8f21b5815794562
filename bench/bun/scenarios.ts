/**
 * The socket API on Bun against Bun's own raw API. bench/run.ts runs these
 * in a Bun child process (they need `globalThis.Bun`), in the same run as
 * the Node scenarios.
 */
import type { Scenario } from '../common.ts'
import * as quicPingPong from '../quic-ping-pong.ts'
import * as quicThroughput from '../quic-throughput.ts'
import * as pingPong from './ping-pong.ts'
import * as tcpThroughput from './tcp-throughput.ts'

/**
 * QUIC on Bun is the Node engine (quiche through Bun's Node-API), so its
 * baseline is the same as on Node: the engine's own channels.
 */
const onBun = (scenario: Scenario): Scenario => ({
  ...scenario,
  name: `bun-${scenario.name}`,
  figure: `Bun: ${scenario.figure}`,
})

export const bunScenarios: Scenario[] = [
  tcpThroughput,
  pingPong,
  onBun(quicThroughput),
  onBun(quicPingPong),
]
