/**
 * "Did you mean" for misspelt keys and values: the closest candidate by
 * edit distance, if it is close enough to be a likely typo.
 */

/**
 * Returns the candidate nearest to `input`, or `undefined` when none is
 * within a third of its length (at least 1, at most 3 edits), or when two
 * are equally near: a guess between them would mislead as often as help.
 *
 * @example
 * closest('replica', ['name', 'replicas', 'vars']) // 'replicas'
 */
export function closest(input: string, candidates: readonly string[]): string | undefined {
  const needle = input.toLowerCase()
  let best: string | undefined
  let bestDistance = Number.POSITIVE_INFINITY
  let tied = false
  for (const candidate of candidates) {
    const distance = editDistance(needle, candidate.toLowerCase())
    const limit = Math.min(3, Math.max(1, Math.floor(candidate.length / 3)))
    if (distance > limit || distance > bestDistance) continue
    tied = distance === bestDistance
    best = candidate
    bestDistance = distance
  }
  return tied ? undefined : best
}

/** Levenshtein distance, with a transposition counted as one edit (optimal string alignment). */
export function editDistance(a: string, b: string): number {
  const rows: number[][] = []
  for (let i = 0; i <= a.length; i++) {
    const row: number[] = [i]
    for (let j = 1; j <= b.length; j++) {
      if (i === 0) {
        row.push(j)
        continue
      }
      const above = rows[i - 1]!
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      let value = Math.min(above[j]! + 1, row[j - 1]! + 1, above[j - 1]! + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        value = Math.min(value, rows[i - 2]![j - 2]! + 1)
      }
      row.push(value)
    }
    rows.push(row)
  }
  return rows[a.length]![b.length]!
}
