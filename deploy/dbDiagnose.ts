import { parseArgs } from 'node:util';
import { runtimeConfig } from '../shared/config/index.js';
import { createPool, DEFAULT_LEAK_IDLE_SECONDS, poolOptionsFromConfig, terminateLeakedConnections, type Db } from '../shared/db/index.js';
import { setLogSink } from '../shared/log/index.js';
import { collectConnectionReport, leakedReport, type ConnectionReport } from './connectionReport.js';
import { isMain } from './isMain.js';
import { renderConnectionReport } from './renderConnectionReport.js';

/**
 * The `application_name` the tool connects with: not of the form `<function>:<instance>`,
 * so it is never among its own candidates.
 */
export const DIAGNOSE_APPLICATION_NAME = 'db-diagnose';

/** Exit codes of `npm run db:diagnose`. */
export const EXIT = { clean: 0, leaked: 1, error: 2 } as const;

/** What the command line asked for. */
export interface DiagnoseArgs {
  idleSeconds: number;
  killLeaked: boolean;
  json: boolean;
  help: boolean;
}

/** A command line the tool cannot run with (exit 2). */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export const USAGE = `Usage: npm run db:diagnose -- [--idle-seconds N] [--kill-leaked] [--json]

Shows the server's connection slots, this app's connections by function, instance and
state, other applications' connections, and leaked candidates: this app's backends idle
longer than N seconds (default ${DEFAULT_LEAK_IDLE_SECONDS}). Connects through DATABASE_URL, or the Cloud SQL
connector when INSTANCE_CONNECTION_NAME is set (with DB_USER, DB_NAME, DB_PASSWORD or DB_IAM_AUTH).

  --idle-seconds N  leak threshold in whole seconds (≥ 1)
  --kill-leaked     terminate exactly the candidates shown
  --json            print one JSON document on stdout (logs go to stderr)

Exit status: 0 nothing leaked (or every candidate terminated), 1 leaked connections
found and not killed, 2 error.`;

/** Parses the command line; throws {@link UsageError} naming what is wrong. */
export function parseDiagnoseArgs(argv: readonly string[]): DiagnoseArgs {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        'idle-seconds': { type: 'string' },
        'kill-leaked': { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  const raw = values['idle-seconds'];
  const idleSeconds = raw === undefined ? DEFAULT_LEAK_IDLE_SECONDS : Number(raw);
  if (raw !== undefined && !(/^\d+$/.test(raw.trim()) && Number.isSafeInteger(idleSeconds) && idleSeconds >= 1)) {
    throw new UsageError(`--idle-seconds must be a whole number of seconds, at least 1 (got "${raw}")`);
  }
  return { idleSeconds, killLeaked: values['kill-leaked'], json: values.json, help: values.help };
}

/** Builds the report and, when asked, terminates exactly its candidates. */
export async function diagnose(db: Db, args: Pick<DiagnoseArgs, 'idleSeconds' | 'killLeaked'>): Promise<ConnectionReport> {
  const report = await collectConnectionReport(db, { idleSeconds: args.idleSeconds });
  if (args.killLeaked) {
    // Only the listed backends, and only those still leaked when the signal is sent.
    const killed = await terminateLeakedConnections(db, {
      idleSeconds: args.idleSeconds,
      only: report.leaked.map((l) => ({ pid: l.pid, backendStart: l.backend_start })),
    });
    report.killed = killed.map(leakedReport);
  }
  return report;
}

/** The exit code a finished report calls for. */
export function exitCodeFor(report: ConnectionReport): number {
  return report.leaked.length > 0 && report.killed === null ? EXIT.leaked : EXIT.clean;
}

async function main(argv: readonly string[]): Promise<number> {
  // stdout carries the report (one JSON document with --json) and nothing else.
  setLogSink((line) => process.stderr.write(line + '\n'));
  let args: DiagnoseArgs;
  try {
    args = parseDiagnoseArgs(argv);
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${USAGE}\n`);
    return EXIT.error;
  }
  if (args.help) {
    process.stdout.write(`${USAGE}\n`);
    return EXIT.clean;
  }
  // The same connection options as the functions (Cloud SQL connector or DATABASE_URL),
  // under our own name, with one connection.
  const db = await createPool({ ...poolOptionsFromConfig(runtimeConfig()), applicationName: DIAGNOSE_APPLICATION_NAME, max: 1 });
  try {
    const report = await diagnose(db, args);
    process.stdout.write(args.json ? `${JSON.stringify(report, null, 2)}\n` : renderConnectionReport(report));
    return exitCodeFor(report);
  } finally {
    await db.close();
  }
}

/** An error in one line; a refused connection to `localhost` is an AggregateError with no message. */
function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const parts = [error.message, (error as { code?: unknown }).code].filter((p) => typeof p === 'string' && p !== '');
  if (error instanceof AggregateError) parts.push(...error.errors.map(describeError));
  return parts.length > 0 ? parts.join(': ') : error.name;
}

if (isMain(import.meta.url)) {
  main(process.argv.slice(2)).then(
    (code) => {
      // exitCode, not exit(): stdout (a pipe) must drain before the process ends.
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`db:diagnose failed: ${describeError(error)}\n`);
      process.exitCode = EXIT.error;
    },
  );
}
