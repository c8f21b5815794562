/** A target that loops forever on the input [0x42]: the supervisor must stop it. */
import type { FuzzTarget } from '../../../fuzz/engine/target.ts'

const target: FuzzTarget = {
  seeds: [Uint8Array.of(0x42)],
  check(input) {
    while (input.length === 1 && input[0] === 0x42) {
      // A parser stuck on a length that never shrinks.
    }
  },
}
export default target
