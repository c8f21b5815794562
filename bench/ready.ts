/**
 * Waits for a server the bench started to print that it is ready. Shared by
 * the runtime and connector scenarios.
 */
import type { ChildProcess } from 'node:child_process'
import { within } from '../test/helpers/timers.ts'

/**
 * Resolves with the first group of each pattern, in pattern order, once the
 * child's stdout has matched them all; rejects if it exits first, or after 20 s.
 *
 * @example
 * const [port] = await waitForOutput(child, [/ready tcp [\d.]+:(\d+)/])
 */
export function waitForOutput(child: ChildProcess, patterns: RegExp[]): Promise<string[]> {
  let output = ''
  const ready = new Promise<string[]>((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString()
      const found = patterns.map((pattern) => pattern.exec(output)?.[1])
      if (found.every((group) => group !== undefined)) resolve(found as string[])
    })
    child.once('exit', (code) =>
      reject(new Error(`Exited (${code}) before it was ready:\n${output}`)),
    )
  })
  return within(ready, 20_000, 'a ready line').catch((error: Error) => {
    throw new Error(`${error.message}. Output:\n${output}`)
  })
}
