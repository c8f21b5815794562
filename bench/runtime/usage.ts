/**
 * What the servers under test use, read from Linux /proc and summed over
 * their processes (the supervisor and its replicas): CPU time and memory.
 */
import { execFileSync } from 'node:child_process'
import { readFile } from 'node:fs/promises'

/** Clock ticks per second of /proc/<pid>/stat's times. */
const ticks = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' })) || 100
  } catch {
    return 100
  }
})()

/** User plus system CPU time of `pids`, all their threads, in seconds. */
export async function cpuSeconds(pids: number[]): Promise<number> {
  let total = 0
  for (const pid of pids) {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8')
    // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    total += (Number(fields[11]) + Number(fields[12])) / ticks
  }
  return total
}

/** Resident memory of `pids`, summed, in bytes (VmRSS: shared pages count once per process). */
export async function residentBytes(pids: number[]): Promise<number> {
  return sumField(pids, 'status', /VmRSS:\s+(\d+) kB/)
}

/**
 * Proportional memory of `pids`, summed, in bytes: each shared page (the
 * Node binary, for one) is split between the processes that map it.
 */
export async function proportionalBytes(pids: number[]): Promise<number> {
  return sumField(pids, 'smaps_rollup', /^Pss:\s+(\d+) kB/m)
}

async function sumField(pids: number[], file: string, pattern: RegExp): Promise<number> {
  let total = 0
  for (const pid of pids) {
    const text = await readFile(`/proc/${pid}/${file}`, 'utf8')
    total += Number(pattern.exec(text)?.[1] ?? 0) * 1024
  }
  return total
}
