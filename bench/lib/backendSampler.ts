import type pg from 'pg';

/** Peak client backends seen per `application_name` group while sampling. */
export interface BackendSampler {
  /** Peak per group (the part of `application_name` before `:`, or the whole name). */
  peaks(): Map<string, number>;
  stop(): Promise<void>;
}

/**
 * Samples `pg_stat_activity` every `intervalMs` on `admin` (never two queries at once) and
 * keeps each group's peak. Functions name their connections `<function>:<instance>`.
 */
export function sampleBackends(admin: pg.Client, intervalMs = 100): BackendSampler {
  const peaks = new Map<string, number>();
  let running: Promise<void> | undefined;
  const sample = async (): Promise<void> => {
    const { rows } = await admin.query<{ grp: string; n: number }>(
      `SELECT split_part(application_name, ':', 1) AS grp, count(*)::int AS n FROM pg_stat_activity
        WHERE datname = current_database() AND backend_type = 'client backend' AND pid <> pg_backend_pid()
        GROUP BY 1`,
    );
    for (const { grp, n } of rows) peaks.set(grp, Math.max(peaks.get(grp) ?? 0, n));
  };
  const timer = setInterval(() => {
    running ??= sample()
      .catch(() => undefined)
      .finally(() => {
        running = undefined;
      });
  }, intervalMs);
  return {
    peaks: () => new Map(peaks),
    stop: async () => {
      clearInterval(timer);
      await running;
    },
  };
}
