import { TIERS } from '../shared/deadline/index.js';
import { isMain } from './isMain.js';
import { manifest as realManifest, type Manifest } from './manifest.js';

/** Event-triggered functions may run at most this long on Cloud Run functions. */
export const MAX_EVENT_TIMEOUT_SECONDS = 540;
/** HTTP functions may run at most this long on Cloud Run functions (2nd gen). */
export const MAX_HTTP_TIMEOUT_SECONDS = 3600;

/** The outcome of {@link checkManifest}. */
export interface CheckResult {
  ok: boolean;
  /** One sentence per broken rule, naming the function and the numbers. */
  problems: string[];
  /** The connection budget as a table, for the terminal. */
  summary: string;
}

/**
 * Checks the rules the platform and our database impose on a manifest, without touching
 * anything (pure, so tests can feed it tables of manifests):
 *
 * - connection budget: Σ(max instances × pool max) + admin headroom must fit the Cloud
 *   SQL tier's connections minus the reserved ones — otherwise a traffic spike scales
 *   the functions into "too many clients" errors for everyone;
 * - every timeout tier a function uses, plus the safety margin, fits its timeout —
 *   otherwise the platform kills the work before its own deadline can answer;
 * - event functions time out at ≤ 540 s, HTTP functions at ≤ 3600 s (platform limits);
 * - an event function's timeout fits its subscription's ack deadline (≤ 600 s), or
 *   Pub/Sub redelivers the message while the first delivery is still running;
 * - concurrency above 1 needs at least 1 vCPU (platform rule, rejected at deploy).
 */
export function checkManifest(manifest: Manifest): CheckResult {
  const problems: string[] = [];
  const { cloudSql, adminHeadroom, safetyMarginMs } = manifest;

  const connections = manifest.functions.reduce((sum, fn) => sum + fn.maxInstances * fn.dbPoolMax, 0);
  const needed = connections + adminHeadroom;
  const usable = cloudSql.maxConnections - cloudSql.reserved;
  if (needed > usable) {
    problems.push(
      `connection budget exceeded: Σ(max instances × pool max) = ${connections} + admin headroom ${adminHeadroom} = ${needed} > ${usable} usable on ${cloudSql.tier} (${cloudSql.maxConnections} − ${cloudSql.reserved} reserved)`,
    );
  }

  for (const fn of manifest.functions) {
    for (const tier of fn.tiers) {
      const neededMs = TIERS[tier] + safetyMarginMs;
      if (neededMs > fn.timeoutSeconds * 1000) {
        problems.push(
          `${fn.name}: tier ${tier} needs ${seconds(TIERS[tier])} s + ${seconds(safetyMarginMs)} s safety margin = ${seconds(neededMs)} s > timeout ${fn.timeoutSeconds} s`,
        );
      }
    }
    if (fn.trigger.type === 'topic' && fn.timeoutSeconds > MAX_EVENT_TIMEOUT_SECONDS) {
      problems.push(
        `${fn.name}: event functions may run at most ${MAX_EVENT_TIMEOUT_SECONDS} s, timeout is ${fn.timeoutSeconds} s`,
      );
    }
    if (fn.trigger.type === 'topic' && fn.timeoutSeconds > fn.trigger.ackDeadlineSeconds) {
      // Pub/Sub would redeliver a message whose push is still running: duplicate work.
      problems.push(
        `${fn.name}: timeout ${fn.timeoutSeconds} s outlasts its subscription's ack deadline of ${fn.trigger.ackDeadlineSeconds} s (Pub/Sub would redeliver while it runs)`,
      );
    }
    if (fn.trigger.type === 'http' && fn.timeoutSeconds > MAX_HTTP_TIMEOUT_SECONDS) {
      problems.push(`${fn.name}: HTTP functions may run at most ${MAX_HTTP_TIMEOUT_SECONDS} s, timeout is ${fn.timeoutSeconds} s`);
    }
    if (fn.concurrency > 1 && fn.cpu < 1) {
      problems.push(`${fn.name}: concurrency ${fn.concurrency} needs at least 1 vCPU, cpu is ${fn.cpu}`);
    }
  }

  return { ok: problems.length === 0, problems, summary: budgetTable(manifest, connections, needed, usable) };
}

/** Milliseconds as seconds, without a trailing `.0` (`301000` → `301`, `1500` → `1.5`). */
function seconds(ms: number): string {
  return String(ms / 1000);
}

function budgetTable(manifest: Manifest, connections: number, needed: number, usable: number): string {
  const { cloudSql, adminHeadroom } = manifest;
  const nameWidth = Math.max('function'.length, ...manifest.functions.map((f) => f.name.length));
  const row = (label: string, cells: string[]): string => `${label.padEnd(nameWidth)}  ${cells.join('  ')}`;
  const lines = [
    `Connection budget on ${cloudSql.tier} (max_connections ${cloudSql.maxConnections}, ${cloudSql.reserved} reserved)`,
    row('function', ['timeout', 'max inst', '×', 'pool', '=', 'connections']),
    ...manifest.functions.map((fn) =>
      row(fn.name, [
        `${fn.timeoutSeconds}s`.padStart(7),
        String(fn.maxInstances).padStart(8),
        '×',
        String(fn.dbPoolMax).padStart(4),
        '=',
        String(fn.maxInstances * fn.dbPoolMax).padStart(11),
      ]),
    ),
  ];
  const totals: [string, number][] = [
    ['total Σ(max instances × pool max)', connections],
    ['+ admin headroom', adminHeadroom],
    ['= needed', needed],
    [`usable (${cloudSql.maxConnections} − ${cloudSql.reserved} reserved)`, usable],
    [needed <= usable ? 'spare' : 'OVER BY', Math.abs(usable - needed)],
  ];
  // Totals line up under the connections column.
  const width = Math.max(...lines.slice(1).map((l) => l.length), ...totals.map(([label]) => label.length + 12));
  lines.push(...totals.map(([label, value]) => `${label}${String(value).padStart(width - label.length)}`));
  return lines.join('\n');
}

if (isMain(import.meta.url)) {
  const result = checkManifest(realManifest);
  console.log(result.summary);
  if (result.ok) {
    console.log('\nDeploy check passed.');
  } else {
    console.error(`\nDeploy check failed:\n${result.problems.map((p) => `  - ${p}`).join('\n')}`);
    process.exit(1);
  }
}
