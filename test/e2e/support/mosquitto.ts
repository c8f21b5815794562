/**
 * The Mosquitto command-line clients (Debian's mosquitto-clients) against a
 * broker on 127.0.0.1: `mosquitto_pub` to completion, and `mosquitto_sub -d`
 * resolved once its SUBACK arrived, so that a test publishes only then.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { once } from 'node:events'

/** Runs a command to completion (10 s at most). */
export function run(command: string, args: string[]): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve) => {
    execFile(command, args, { timeout: 10_000 }, (error, stdout) => {
      const code = error ? Number((error as { code?: unknown }).code ?? 1) : 0
      resolve({ code, stdout })
    })
  })
}

/**
 * `mosquitto_pub` against the broker on `port`.
 *
 * @example
 * await mosquittoPub(1883, '-t', 'a/b', '-m', 'hi', '-q', '1')
 */
export function mosquittoPub(port: number, ...args: string[]) {
  return run('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(port), ...args])
}

/** A running `mosquitto_sub -d` whose SUBACK has arrived. */
export interface Sub {
  child: ChildProcess
  /** Its output once it exits; message lines only (no debug lines). */
  done: Promise<{ code: number | null; messages: string[]; debug: string }>
}

/**
 * Starts `mosquitto_sub -d` against the broker on `port`; resolves once it is subscribed.
 *
 * @example
 * const s = await mosquittoSub(1883, '-t', 'a/#', '-C', '1', '-v')
 * const { messages } = await s.done
 */
export async function mosquittoSub(port: number, ...args: string[]): Promise<Sub> {
  // stdbuf: piped, mosquitto_sub's stdout is block-buffered and SUBACK would show only at exit
  const argv = ['-oL', 'mosquitto_sub', '-h', '127.0.0.1', '-p', String(port), '-d', ...args]
  const child = spawn('stdbuf', argv, { stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  const { promise: subscribed, resolve, reject } = Promise.withResolvers<void>()
  child.stdout?.on('data', (chunk: Buffer) => {
    out += chunk.toString()
    if (out.includes('received SUBACK')) resolve()
  })
  const done = once(child, 'exit').then(([code]) => {
    reject(new Error(`mosquitto_sub exited (${code}) before SUBACK:\n${out}`))
    const lines = out.split('\n').filter((line) => line !== '')
    return {
      code: code as number | null,
      messages: lines.filter((line) => !/^(Client |Subscribed )/.test(line)),
      debug: out,
    }
  })
  await subscribed
  return { child, done }
}
