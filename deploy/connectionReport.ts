import { FUNCTION_NAMES } from '../shared/config/index.js';
import { findLeakedConnections, parseApplicationName, type LeakedConnection, type Queryable } from '../shared/db/index.js';

/** The server's connection slots. */
export interface SlotReport {
  max_connections: number;
  superuser_reserved_connections: number;
  /** Slots kept for roles with `pg_use_reserved_connections` (PostgreSQL 16+); null before. */
  reserved_connections: number | null;
  /** Client backends on the whole server, every database and role. */
  used: number;
  /** What is left for ordinary roles: max − both reserves − used (never below 0). */
  free: number;
}

/** One backend of this app. */
export interface AppConnection {
  pid: number;
  application_name: string;
  function: string;
  instance: string;
  state: string | null;
  /** Seconds since the backend was opened. */
  connected_seconds: number;
  /** Seconds in its current state (idle time, for an idle one). */
  state_seconds: number;
  leaked: boolean;
}

/** This app's backends of one function, instance and state. */
export interface AppGroup {
  function: string;
  instance: string;
  state: string | null;
  count: number;
  oldest_connected_seconds: number;
  longest_in_state_seconds: number;
}

/** Backends of anything else, counted. `state` is null where the server hides it from us. */
export interface OtherGroup {
  database: string | null;
  user: string | null;
  application_name: string;
  state: string | null;
  count: number;
}

/** A leaked candidate, as printed. */
export interface LeakedReport {
  pid: number;
  application_name: string;
  function: string;
  instance: string;
  state: string;
  idle_seconds: number;
  backend_start: string;
}

/** Everything `db:diagnose` shows, and its `--json` document. */
export interface ConnectionReport {
  generated_at: string;
  server: { version: string; database: string; user: string };
  /** The leak threshold the candidates were found with. */
  idle_seconds: number;
  slots: SlotReport;
  app: {
    connections: AppConnection[];
    by_state: AppGroup[];
    /** The app's backend idle the longest, if any is idle. */
    oldest_idle: Pick<AppConnection, 'pid' | 'application_name' | 'state' | 'state_seconds'> | null;
  };
  others: OtherGroup[];
  leaked: LeakedReport[];
  /** With `--kill-leaked`: the candidates that were terminated; null otherwise. */
  killed: LeakedReport[] | null;
}

interface ServerRow {
  version: string;
  database: string;
  user: string;
  max_connections: number;
  superuser_reserved_connections: number;
  reserved_connections: string | null;
}

interface BackendRow {
  pid: number;
  database: string | null;
  user: string | null;
  application_name: string;
  state: string | null;
  connected_seconds: number;
  state_seconds: number | null;
}

const SECONDS = (column: string): string => `round(extract(epoch FROM now() - ${column})::numeric, 1)::float8`;

/** A leaked backend as the report prints it. */
export function leakedReport(leaked: LeakedConnection): LeakedReport {
  return {
    pid: leaked.pid,
    application_name: leaked.applicationName,
    function: leaked.functionName,
    instance: leaked.instance,
    state: leaked.state,
    idle_seconds: leaked.idleSeconds,
    backend_start: leaked.backendStart,
  };
}

/**
 * Reads the server's slots and every client backend, sorts them into this app's (same
 * database, same login role, `application_name` of the form `<function>:<instance>`) and
 * everyone else's, and lists the leaked candidates through the reaper itself, so what is
 * shown as leaked is exactly what `--kill-leaked` and the maintenance function act on.
 */
export async function collectConnectionReport(
  db: Queryable,
  options: { idleSeconds: number; functionNames?: readonly string[] },
): Promise<ConnectionReport> {
  const { idleSeconds, functionNames = FUNCTION_NAMES } = options;
  const server = await db.query<ServerRow>(
    `SELECT current_setting('server_version') AS version,
            current_database()::text AS database,
            session_user::text AS "user",
            current_setting('max_connections')::int AS max_connections,
            current_setting('superuser_reserved_connections')::int AS superuser_reserved_connections,
            current_setting('reserved_connections', true) AS reserved_connections`,
  );
  const info = server.rows[0];
  if (info === undefined) throw new Error('The server returned no settings');
  const backends = await db.query<BackendRow>(
    `SELECT pid, datname::text AS database, usename::text AS "user", coalesce(application_name, '') AS application_name, state,
            ${SECONDS('backend_start')} AS connected_seconds, ${SECONDS('state_change')} AS state_seconds
       FROM pg_stat_activity
      WHERE backend_type = 'client backend'
      ORDER BY pid`,
  );
  const leaked = await findLeakedConnections(db, { idleSeconds, functionNames });
  const leakedPids = new Set(leaked.map((l) => l.pid));

  const connections: AppConnection[] = [];
  const others = new Map<string, OtherGroup>();
  for (const row of backends.rows) {
    const app = row.database === info.database && row.user === info.user ? parseApplicationName(row.application_name, functionNames) : undefined;
    if (app !== undefined) {
      connections.push({
        pid: row.pid,
        application_name: row.application_name,
        function: app.functionName,
        instance: app.instance,
        state: row.state,
        connected_seconds: row.connected_seconds,
        state_seconds: row.state_seconds ?? 0,
        leaked: leakedPids.has(row.pid),
      });
      continue;
    }
    const key = JSON.stringify([row.database, row.user, row.application_name, row.state]);
    const group = others.get(key) ?? { database: row.database, user: row.user, application_name: row.application_name, state: row.state, count: 0 };
    group.count += 1;
    others.set(key, group);
  }

  const reserved = info.reserved_connections === null ? null : Number(info.reserved_connections);
  const used = backends.rows.length;
  const idle = connections.filter((c) => c.state?.startsWith('idle') === true).sort((a, b) => b.state_seconds - a.state_seconds)[0];
  return {
    generated_at: new Date().toISOString(),
    server: { version: info.version, database: info.database, user: info.user },
    idle_seconds: idleSeconds,
    slots: {
      max_connections: info.max_connections,
      superuser_reserved_connections: info.superuser_reserved_connections,
      reserved_connections: reserved,
      used,
      free: Math.max(0, info.max_connections - info.superuser_reserved_connections - (reserved ?? 0) - used),
    },
    app: {
      connections,
      by_state: groupApp(connections),
      oldest_idle:
        idle === undefined ? null : { pid: idle.pid, application_name: idle.application_name, state: idle.state, state_seconds: idle.state_seconds },
    },
    others: [...others.values()].sort((a, b) => b.count - a.count || a.application_name.localeCompare(b.application_name)),
    leaked: leaked.map(leakedReport),
    killed: null,
  };
}

function groupApp(connections: readonly AppConnection[]): AppGroup[] {
  const groups = new Map<string, AppGroup>();
  for (const c of connections) {
    const key = JSON.stringify([c.function, c.instance, c.state]);
    const group = groups.get(key) ?? {
      function: c.function,
      instance: c.instance,
      state: c.state,
      count: 0,
      oldest_connected_seconds: 0,
      longest_in_state_seconds: 0,
    };
    group.count += 1;
    group.oldest_connected_seconds = Math.max(group.oldest_connected_seconds, c.connected_seconds);
    group.longest_in_state_seconds = Math.max(group.longest_in_state_seconds, c.state_seconds);
    groups.set(key, group);
  }
  return [...groups.values()].sort(
    (a, b) => a.function.localeCompare(b.function) || a.instance.localeCompare(b.instance) || String(a.state).localeCompare(String(b.state)),
  );
}
