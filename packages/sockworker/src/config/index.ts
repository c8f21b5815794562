/**
 * The config layer of `sockworker serve`: one schema for `sockworker.toml`,
 * validated in full before anything starts.
 */
export { type ConfigIssue, formatIssues } from './errors.ts'
export { loadConfig, parseConfig } from './load.ts'
export type * from './types.ts'
