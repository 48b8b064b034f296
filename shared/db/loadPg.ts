import type pg from 'pg';

let loading: Promise<typeof pg> | undefined;

/**
 * The `pg` module, imported on first use rather than at module load: it costs ~40–70 ms of
 * start-up (`npm run bench:coldstart`), which `/healthz` and a cache hit never need. The
 * first pool pays it once; every later call resolves at once.
 */
export function loadPg(): Promise<typeof pg> {
  loading ??= import('./pgLibrary.js').then((module) => module.default);
  return loading;
}
