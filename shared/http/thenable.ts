/** True for a promise (or any thenable): the hot path continues a value at once and only chains a promise. */
export function isThenable<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return typeof (value as { then?: unknown } | undefined)?.then === 'function';
}

/**
 * `fn(value)` now when `value` is already there, else once its promise fulfils: a handler
 * answering from a cache stays synchronous, and only a load costs a promise.
 */
export function whenReady<T, U>(value: T | Promise<T>, fn: (ready: T) => U): U | Promise<U> {
  return isThenable(value) ? value.then(fn) : fn(value);
}
