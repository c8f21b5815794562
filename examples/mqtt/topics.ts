/**
 * Topic names and topic filters (§4.7): `/` separates levels, `+` matches
 * one level, `#` matches the rest, and wildcards never match a first level
 * starting with `$`.
 */

/**
 * A topic name a client may publish to: not empty, no wildcards.
 *
 * @example
 * isTopicName('sensors/kitchen') // true
 * isTopicName('sensors/+')       // false
 */
export function isTopicName(name: string): boolean {
  return name.length > 0 && !name.includes('+') && !name.includes('#')
}

/**
 * A topic filter a client may subscribe to: `+` and `#` only as whole
 * levels, and `#` only last.
 *
 * @example
 * isTopicFilter('sensors/+/temp') // true
 * isTopicFilter('sensors/#/temp') // false
 */
export function isTopicFilter(filter: string): boolean {
  if (filter.length === 0) return false
  const levels = filter.split('/')
  return levels.every((level, i) => {
    if (level === '#') return i === levels.length - 1
    return level === '+' || (!level.includes('+') && !level.includes('#'))
  })
}

/**
 * Whether `topic` matches `filter`.
 *
 * @example
 * matches('sensors/+/temp', 'sensors/kitchen/temp') // true
 * matches('#', '$SYS/uptime')                        // false
 */
export function matches(filter: string, topic: string): boolean {
  const f = filter.split('/')
  const t = topic.split('/')
  if (topic.startsWith('$') && (f[0] === '+' || f[0] === '#')) return false
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true // also matches the parent: 'a/#' matches 'a'
    if (i >= t.length) return false
    if (f[i] !== '+' && f[i] !== t[i]) return false
  }
  return f.length === t.length
}
