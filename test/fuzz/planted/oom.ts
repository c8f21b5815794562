/** A target that keeps everything it parses on the input [0x42]: an unbounded allocation. */
import type { FuzzTarget } from '../../../fuzz/engine/target.ts'

const kept: string[][] = []
const target: FuzzTarget = {
  seeds: [Uint8Array.of(0x42)],
  check(input) {
    if (input.length !== 1 || input[0] !== 0x42) return
    for (let i = 0; ; i++) kept.push(new Array<string>(1 << 16).fill(`field ${i}`))
  },
}
export default target
