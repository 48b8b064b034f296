import type { ConnectionReport, LeakedReport } from './connectionReport.js';
import { formatTable } from './formatTable.js';

/** Seconds as an operator reads them: `4.2s`, `5m 07s`, `2h 03m`, `3d 04h`. */
export function formatDuration(seconds: number): string {
  if (seconds < 60) return `${seconds.toFixed(1)}s`;
  const s = Math.floor(seconds);
  const pad = (n: number): string => String(n).padStart(2, '0');
  if (s < 3600) return `${Math.floor(s / 60)}m ${pad(s % 60)}s`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h ${pad(Math.floor((s % 3600) / 60))}m`;
  return `${Math.floor(s / 86_400)}d ${pad(Math.floor((s % 86_400) / 3600))}h`;
}

/** A state the server hid from us (another role's backend, without `pg_read_all_stats`). */
const HIDDEN = '(hidden)';

function leakedTable(rows: readonly LeakedReport[]): string {
  return formatTable(rows, [
    { header: 'pid', value: (r) => r.pid, align: 'right' },
    { header: 'application_name', value: (r) => r.application_name },
    { header: 'function', value: (r) => r.function },
    { header: 'instance', value: (r) => r.instance },
    { header: 'state', value: (r) => r.state },
    { header: 'idle for', value: (r) => formatDuration(r.idle_seconds), align: 'right' },
  ]);
}

/** The report as `db:diagnose` prints it on a terminal: psql-style tables, one per section. */
export function renderConnectionReport(report: ConnectionReport): string {
  const { server, slots, app } = report;
  const sections: string[] = [
    `PostgreSQL ${server.version} · database ${server.database} · user ${server.user} · leak threshold ${report.idle_seconds} s`,
    [
      'Connection slots (whole server)',
      formatTable([slots], [
        { header: 'max_connections', value: (r) => r.max_connections, align: 'right' },
        { header: 'superuser_reserved', value: (r) => r.superuser_reserved_connections, align: 'right' },
        { header: 'reserved', value: (r) => r.reserved_connections ?? 'n/a', align: 'right' },
        { header: 'used', value: (r) => r.used, align: 'right' },
        { header: 'free', value: (r) => r.free, align: 'right' },
      ]),
    ].join('\n'),
    [
      "This app's connections (by function, instance and state)",
      formatTable(app.by_state, [
        { header: 'function', value: (r) => r.function },
        { header: 'instance', value: (r) => r.instance },
        { header: 'state', value: (r) => r.state ?? HIDDEN },
        { header: 'connections', value: (r) => r.count, align: 'right' },
        { header: 'oldest connection', value: (r) => formatDuration(r.oldest_connected_seconds), align: 'right' },
        { header: 'longest in state', value: (r) => formatDuration(r.longest_in_state_seconds), align: 'right' },
      ]),
      app.oldest_idle === null
        ? 'Oldest idle: none'
        : `Oldest idle: pid ${app.oldest_idle.pid} (${app.oldest_idle.application_name}), ${app.oldest_idle.state} for ${formatDuration(app.oldest_idle.state_seconds)}`,
    ].join('\n'),
    [
      'Other connections (by database, user, application and state)',
      formatTable(report.others, [
        { header: 'database', value: (r) => r.database },
        { header: 'user', value: (r) => r.user },
        { header: 'application_name', value: (r) => r.application_name },
        { header: 'state', value: (r) => r.state ?? HIDDEN },
        { header: 'connections', value: (r) => r.count, align: 'right' },
      ]),
    ].join('\n'),
    [`Leaked candidates (this app's, idle longer than ${report.idle_seconds} s)`, leakedTable(report.leaked)].join('\n'),
  ];
  if (report.killed !== null) {
    sections.push(['Terminated', leakedTable(report.killed)].join('\n'));
  }
  sections.push(verdict(report));
  return sections.join('\n\n') + '\n';
}

function verdict(report: ConnectionReport): string {
  const found = report.leaked.length;
  if (found === 0) return 'No leaked connections.';
  const noun = found === 1 ? 'connection' : 'connections';
  if (report.killed === null) return `${found} leaked ${noun} found; run again with --kill-leaked to terminate them.`;
  const gone = found - report.killed.length;
  return gone === 0
    ? `${found} leaked ${noun} terminated.`
    : `${report.killed.length} of ${found} leaked ${noun} terminated; ${gone} had ended or become active since they were listed.`;
}
