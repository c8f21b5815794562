/** Node's errors carry the same `code`s as every runtime's: see `system-errors.ts`. */
export { toSocketError } from '../../system-errors.ts'
