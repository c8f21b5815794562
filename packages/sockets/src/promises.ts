/**
 * One shared no-op for marking promises handled. An inline `() => {}` is a
 * new function object on every call, and sockets make several each.
 */
export function noop(): void {}
