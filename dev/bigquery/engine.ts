/**
 * The DuckDB side: one instance, a small pool of connections, per-table
 * write locks and the ledger of committed transactions.
 *
 * Each running job gets its own connection because `connection.interrupt()`
 * stops whatever that connection is executing — sharing one connection would
 * let a timeout or cancel of one job kill another. Writes to the same table
 * are serialised so two concurrent insertAll/DML statements never hit
 * DuckDB's optimistic-concurrency "Transaction conflict" errors — except
 * multi-statement transactions, which hold their tables in `transaction` mode
 * beside each other, as in BigQuery, and are judged by the ledger at COMMIT
 * (`transactions.ts`).
 */
import { DuckDBInstance } from '@duckdb/node-api';
import type { DuckDBConnection } from '@duckdb/node-api';
import { TransactionLedger } from './transactions.js';

/**
 * How a writer holds a table. `exclusive`: alone (insertAll, single DML, DDL, copy jobs,
 * scripts with writes outside a transaction). `transaction`: beside other scripts whose
 * writes to the table are all inside transactions — BigQuery runs those at the same time
 * and cancels the loser — while an `exclusive` writer waits for all of them (BigQuery
 * queues a DML statement behind a transaction on its table).
 */
export type LockMode = 'exclusive' | 'transaction';

/** One table's lock: its holders and, in arrival order, who waits. */
interface TableLock {
  exclusive: boolean;
  transactions: number;
  queue: { mode: LockMode; grant: () => void }[];
}

function admits(lock: TableLock, mode: LockMode): boolean {
  return mode === 'exclusive' ? !lock.exclusive && lock.transactions === 0 : !lock.exclusive;
}

function take(lock: TableLock, mode: LockMode): void {
  if (mode === 'exclusive') lock.exclusive = true;
  else lock.transactions += 1;
}

/** Settings applied to every connection so GoogleSQL semantics hold. */
const SESSION_SETTINGS = [
  // TIMESTAMP (TIMESTAMPTZ) arithmetic, casts and CURRENT_DATE are UTC in BigQuery.
  "SET TimeZone = 'UTC'",
  // BigQuery sorts NULLs first ascending and last descending.
  "SET default_null_order = 'nulls_first_on_asc_last_on_desc'",
];

/** Options for {@link Engine.open}. */
export interface EngineOptions {
  /** DuckDB database file, or ':memory:'. */
  dataPath: string;
  /** Maximum concurrent connections (= concurrently running jobs). */
  maxConnections?: number;
}

/** DuckDB instance plus connection pool. */
export class Engine {
  private readonly idle: DuckDBConnection[] = [];
  private readonly all: DuckDBConnection[] = [];
  private readonly waiters: { resolve: (c: DuckDBConnection) => void; reject: (e: Error) => void }[] = [];
  private creating = 0;
  private readonly locks = new Map<string, TableLock>();
  /** Which transaction commits what, for BigQuery's table-level conflicts (`transactions.ts`). */
  readonly transactions = new TransactionLedger();
  private closed = false;
  /** Connections currently handed out. */
  private busy = 0;
  private onIdle: (() => void) | undefined;

  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly maxConnections: number,
  ) {}

  /** Opens (or creates) the database. */
  static async open(opts: EngineOptions): Promise<Engine> {
    const instance = await DuckDBInstance.create(opts.dataPath, {
      // Queries come from API callers: keep DuckDB from reading or writing arbitrary files or URLs.
      enable_external_access: 'false',
      autoinstall_known_extensions: 'false',
      autoload_known_extensions: 'false',
    });
    const engine = new Engine(instance, Math.max(1, opts.maxConnections ?? 8));
    // Warm one connection so the first request does not pay for it. It goes
    // straight to the idle list: release() is only for acquired connections.
    engine.idle.push(await engine.create());
    return engine;
  }

  private async create(): Promise<DuckDBConnection> {
    const conn = await this.instance.connect();
    for (const s of SESSION_SETTINGS) await conn.run(s);
    this.all.push(conn);
    return conn;
  }

  /** Takes a connection, waiting when all are busy. */
  async acquire(): Promise<DuckDBConnection> {
    if (this.closed) throw new Error('The local BigQuery endpoint is shutting down');
    this.busy++;
    try {
      const conn = this.idle.pop();
      if (conn) return conn;
      if (this.all.length + this.creating < this.maxConnections) {
        this.creating++;
        try {
          return await this.create();
        } finally {
          this.creating--;
        }
      }
      return await new Promise<DuckDBConnection>((resolve, reject) => this.waiters.push({ resolve, reject }));
    } catch (err) {
      this.busy--;
      throw err;
    }
  }

  /** Returns a connection to the pool. */
  release(conn: DuckDBConnection): void {
    // Every acquire() (including one still waiting) counted itself in `busy`; this releaser is done either way.
    this.busy = Math.max(0, this.busy - 1);
    const waiter = this.waiters.shift();
    if (waiter) {
      waiter.resolve(conn);
      return;
    }
    this.idle.push(conn);
    if (this.busy === 0) this.onIdle?.();
  }

  /** Connections handed out and callers waiting for one (for tests and stats). */
  get inUse(): number {
    return this.busy;
  }

  /** Runs `fn` with a pooled connection. */
  async with<T>(fn: (conn: DuckDBConnection) => Promise<T>): Promise<T> {
    const conn = await this.acquire();
    try {
      return await fn(conn);
    } finally {
      this.release(conn);
    }
  }

  /**
   * Runs `fn` holding the write locks for `keys` (table keys such as
   * `dataset.table`) in `mode`. Keys are taken in sorted order so two
   * multi-table writers cannot deadlock; a lock is granted in arrival order,
   * so a waiting `exclusive` writer is not starved by a stream of
   * transactions.
   */
  async withLocks<T>(keys: string[], fn: () => Promise<T>, mode: LockMode = 'exclusive'): Promise<T> {
    const sorted = [...new Set(keys.map((k) => k.toLowerCase()))].sort();
    const held: string[] = [];
    try {
      for (const key of sorted) {
        await this.lock(key, mode);
        held.push(key);
      }
      return await fn();
    } finally {
      for (const key of held.reverse()) this.unlock(key, mode);
    }
  }

  private lock(key: string, mode: LockMode): Promise<void> {
    let lock = this.locks.get(key);
    if (lock === undefined) {
      lock = { exclusive: false, transactions: 0, queue: [] };
      this.locks.set(key, lock);
    }
    if (lock.queue.length === 0 && admits(lock, mode)) {
      take(lock, mode);
      return Promise.resolve();
    }
    const waiting = lock;
    return new Promise<void>((grant) => waiting.queue.push({ mode, grant }));
  }

  private unlock(key: string, mode: LockMode): void {
    const lock = this.locks.get(key);
    if (lock === undefined) return;
    if (mode === 'exclusive') lock.exclusive = false;
    else lock.transactions -= 1;
    for (let next = lock.queue[0]; next !== undefined && admits(lock, next.mode); next = lock.queue[0]) {
      lock.queue.shift();
      take(lock, next.mode);
      next.grant();
    }
    if (!lock.exclusive && lock.transactions === 0 && lock.queue.length === 0) this.locks.delete(key);
  }

  /** Number of open connections (for stats). */
  get connectionCount(): number {
    return this.all.length;
  }

  /**
   * Interrupts running statements, waits for them to hand their connections
   * back, then closes the database. DuckDB must never be closed under a live
   * statement (that is a native use-after-free), so if statements are still
   * running after `graceMs` the instance is left open (leaked) instead.
   */
  async close(graceMs = 10_000): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const w of this.waiters.splice(0)) w.reject(new Error('The local BigQuery endpoint is shutting down'));
    if (this.busy > 0) {
      const deadline = Date.now() + graceMs;
      await new Promise<void>((resolve) => {
        this.onIdle = resolve;
        // Keep interrupting: an interrupt that lands between statements is lost.
        const poke = (): void => {
          if (this.busy === 0) return resolve();
          if (Date.now() > deadline) return resolve();
          for (const c of this.all) c.interrupt();
          setTimeout(poke, 25).unref();
        };
        poke();
      });
    }
    if (this.busy > 0) {
      process.emitWarning(`local BigQuery endpoint: ${this.busy} DuckDB statement(s) still running after ${graceMs} ms; leaving the database open`);
      return;
    }
    for (const c of this.all) {
      try {
        c.disconnectSync();
      } catch {
        // Already closed.
      }
    }
    this.instance.closeSync();
  }
}
