/**
 * BigQuery's rule for concurrent multi-statement transactions, modelled.
 *
 * BigQuery documents (docs/transactions, "Transaction concurrency") that while a
 * transaction updates or deletes rows of a table, no other transaction or DML statement
 * that mutates that table may run at the same time: a conflicting transaction is
 * cancelled, a conflicting DML statement outside a transaction waits in a queue. The
 * conflict is per **table**, not per partition or row — two loads of different days of one
 * table conflict — and the cancelled job fails with `Transaction is aborted due to
 * concurrent update against table …` (docs/troubleshoot-queries), HTTP 400, reason
 * `invalidQuery`, which clients retry as a transient error.
 *
 * Locally, scripts whose writes are all inside transactions hold their tables side by side
 * (`Engine.withLocks(…, 'transaction')`), so their transactions really overlap, and this
 * ledger judges each at its COMMIT, first committer wins: a transaction whose table
 * received a conflicting commit after its BEGIN is rolled back and fails with BigQuery's
 * error. Conflicting: both wrote the table and at least one of them updated or deleted
 * (two INSERT-only transactions append side by side, as INSERT DML statements do in
 * BigQuery). A DML statement, insertAll, copy job or DDL outside a transaction takes its
 * table exclusively and so waits until the transactions on it end.
 */
import { randomUUID } from 'node:crypto';
import { invalidQuery, type BigQueryApiError } from './errors.js';
import type { TableRef } from './sql/index.js';

/** One transaction of a script, from its BEGIN to its COMMIT or ROLLBACK. */
export interface OpenTransaction {
  /** Shown in the conflict message, as BigQuery names the aborted transaction. */
  readonly id: string;
  /** The ledger's commit count at BEGIN: commits after it are concurrent with this transaction. */
  readonly snapshot: number;
  /** Tables written so far (lowercase `dataset.table`), and whether any write updated or deleted. */
  readonly writes: Map<string, { table: TableRef; mutated: boolean }>;
  ended: boolean;
}

/** The last commit that wrote, and that mutated (UPDATE/DELETE), a table. */
interface Committed {
  wrote: number;
  mutated: number;
}

/** Which transaction committed what, since the oldest transaction still open began. */
export class TransactionLedger {
  #commits = 0;
  #open = 0;
  readonly #tables = new Map<string, Committed>();

  /** Starts a transaction (at its BEGIN). */
  begin(): OpenTransaction {
    this.#open += 1;
    return { id: randomUUID(), snapshot: this.#commits, writes: new Map(), ended: false };
  }

  /** Records that `tx` ran a DML statement of `statementType` on `table`. */
  wrote(tx: OpenTransaction, table: TableRef, statementType: string): void {
    const key = `${table.datasetId}.${table.tableId}`.toLowerCase();
    const mutated = statementType !== 'INSERT';
    const before = tx.writes.get(key);
    tx.writes.set(key, { table, mutated: mutated || (before?.mutated ?? false) });
  }

  /**
   * Judges `tx` at its COMMIT: the first table it wrote that another transaction committed
   * a conflicting write to since `tx` began (then `tx` must be rolled back), or undefined —
   * and then `tx`'s writes count as committed from now on. Synchronous, so no other commit
   * can come between the check and the record. A commit the engine then fails to make
   * still counts: at worst a concurrent transaction is aborted that need not have been.
   */
  commit(tx: OpenTransaction): TableRef | undefined {
    for (const [key, write] of tx.writes) {
      const other = this.#tables.get(key);
      if (other === undefined) continue;
      if (other.mutated > tx.snapshot || (write.mutated && other.wrote > tx.snapshot)) return write.table;
    }
    if (tx.writes.size === 0) return undefined;
    this.#commits += 1;
    for (const [key, write] of tx.writes) {
      const other = this.#tables.get(key) ?? { wrote: 0, mutated: 0 };
      this.#tables.set(key, { wrote: this.#commits, mutated: write.mutated ? this.#commits : other.mutated });
    }
    return undefined;
  }

  /** Ends `tx` (committed, rolled back or failed); idempotent. */
  end(tx: OpenTransaction): void {
    if (tx.ended) return;
    tx.ended = true;
    this.#open -= 1;
    // No transaction is left that began before these commits: none of them can conflict again.
    if (this.#open === 0) this.#tables.clear();
  }

  /** Transactions open now (for tests and stats). */
  get open(): number {
    return this.#open;
  }
}

/**
 * BigQuery's error for a transaction aborted by a concurrent update of `table`, at the
 * statement (`line`:`column`) where the conflict was found.
 */
export function concurrentUpdateError(projectId: string, table: TableRef, tx: OpenTransaction, line: number, column: number): BigQueryApiError {
  const project = table.projectId === '' ? projectId : table.projectId;
  return invalidQuery(
    `Query error: Transaction is aborted due to concurrent update against table ${project}:${table.datasetId}.${table.tableId}. Transaction ID: ${tx.id} at [${line}:${column}]`,
  );
}

/**
 * DuckDB's own write-write conflict inside a transaction (two overlapping transactions
 * deleting the same rows): BigQuery would have aborted one of them at table level anyway.
 */
export function isEngineConflict(error: unknown): boolean {
  const message = error instanceof Error ? error.message : String(error);
  return /TransactionContext Error: .*conflict|write-write conflict/i.test(message);
}
