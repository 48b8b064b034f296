import type { AuditLogRow } from '../analytics/index.js';
import { raceSignal } from '../deadline/index.js';
import { UnavailableError } from '../errors/index.js';
import { log } from '../log/index.js';

/** One row as streamed: our deterministic `insertId` makes a retried row land once. */
export interface AuditEntry {
  insertId: string;
  json: AuditLogRow;
}

export interface AuditWriterOptions {
  /** Streams rows to the audit table. */
  insert: (rows: AuditEntry[]) => Promise<void>;
  /** Longest one write may take before its rows are kept for later. */
  budgetMs: number;
  /** Rows kept for a retry at most; the oldest go first (logged with their count). */
  maxRows: number;
  /** After a failure, writes go straight to the buffer for this long (no wait on a BigQuery that is down). */
  retryAfterMs: number;
  /** True once the instance is shutting down: rows then wait for the shutdown flush. */
  isShuttingDown?: () => boolean;
  now?: () => number;
}

/** Most rows one insert carries (BigQuery's recommended insertAll batch size). */
const MAX_BATCH_ROWS = 500;

/**
 * Writes audit rows so that BigQuery being slow or down never turns a committed change
 * into an error or a long wait: each write is bounded by a short budget; rows that did
 * not make it are kept in a bounded buffer and sent along with the next write — inside
 * that later invocation, before its answer, because Cloud Run takes the CPU away once an
 * answer is out — and once more at shutdown. After a failure, writes skip BigQuery for
 * `retryAfterMs` and only buffer. Whatever is finally dropped (buffer full, or still
 * failing at shutdown) is logged with its count.
 */
export class AuditWriter {
  readonly #pending: AuditEntry[] = [];
  readonly #options: Required<AuditWriterOptions>;
  #retryAt = 0;
  /** Rows written to BigQuery so far. */
  written = 0;
  /** Rows given up on so far (buffer full, or shutdown flush failed). */
  dropped = 0;

  constructor(options: AuditWriterOptions) {
    this.#options = { isShuttingDown: () => false, now: () => performance.now(), ...options };
  }

  /** Rows waiting for a retry. */
  get size(): number {
    return this.#pending.length;
  }

  /**
   * Writes `entry` together with the rows waiting for a retry, within the budget.
   * Resolves `buffered` when BigQuery was skipped (it failed recently, or the instance is
   * shutting down); rejects when the write failed — the rows are then buffered, and the
   * caller logs the failure.
   */
  async write(entry: AuditEntry): Promise<'written' | 'buffered'> {
    if (this.#options.isShuttingDown() || this.#options.now() < this.#retryAt) {
      this.#keep([entry]);
      return 'buffered';
    }
    const batch = [...this.#pending.splice(0, MAX_BATCH_ROWS - 1), entry];
    try {
      await this.#insert(batch);
    } catch (error) {
      this.#retryAt = this.#options.now() + this.#options.retryAfterMs;
      this.#keep(batch);
      throw error;
    }
    this.#retryAt = 0;
    this.written += batch.length;
    if (batch.length > 1) log.info('Wrote audit rows kept from earlier invocations', { rows: batch.length - 1 });
    return 'written';
  }

  /**
   * Shutdown: one last try for the buffered rows, within `timeoutMs` (and the write
   * budget); what still fails is dropped and logged with its count. Never rejects.
   */
  async flush(timeoutMs: number = this.#options.budgetMs): Promise<void> {
    const until = this.#options.now() + timeoutMs;
    while (this.#pending.length > 0) {
      const batch = this.#pending.splice(0, MAX_BATCH_ROWS);
      try {
        await this.#insert(batch, Math.max(1, until - this.#options.now()));
        this.written += batch.length;
        log.info('Wrote buffered audit rows at shutdown', { rows: batch.length });
      } catch (error) {
        const rows = batch.length + this.#pending.splice(0).length;
        this.dropped += rows;
        log.error('Dropped audit rows at shutdown: BigQuery did not take them', error, { rows });
      }
    }
  }

  async #insert(batch: AuditEntry[], limitMs = Infinity): Promise<void> {
    const budgetMs = Math.floor(Math.min(this.#options.budgetMs, limitMs));
    const signal = AbortSignal.timeout(budgetMs);
    try {
      await raceSignal(this.#options.insert(batch), signal);
    } catch (error) {
      if (signal.aborted) throw new UnavailableError(`BigQuery did not take the audit rows within ${budgetMs} ms`, { cause: error });
      throw error;
    }
  }

  /** Buffers rows, dropping the oldest beyond the cap. */
  #keep(entries: AuditEntry[]): void {
    this.#pending.push(...entries);
    const excess = this.#pending.length - this.#options.maxRows;
    if (excess <= 0) return;
    const lost = this.#pending.splice(0, excess);
    this.dropped += lost.length;
    log.error('Dropped audit rows: the retry buffer is full', undefined, {
      rows: lost.length,
      max_rows: this.#options.maxRows,
      request_ids: lost.map((e) => e.json.request_id),
    });
  }
}
