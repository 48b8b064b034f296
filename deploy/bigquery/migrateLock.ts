/**
 * The `bq:migrate` lock: a marker table `__bqmigrate_lock` in the central
 * dataset.
 *
 * Creating a table is atomic in BigQuery and a second create answers 409, so
 * `tables.insert` is the mutex. The table carries its owner (host, pid, and
 * the `bq:migrate` run's id or a random one) and expiry as labels and
 * description, and its `expirationTime` is the expiry too, so real BigQuery
 * deletes the lock of a crashed run by itself; a
 * run that finds an expired lock (the local endpoint stores but does not
 * enforce expirations) deletes it and tries once more. A live run extends the
 * expiry after every table ({@link MigrationLock.refresh}), and releases the
 * lock by deleting the table. The lock holds no data; nothing else reads it.
 */
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import type { BigQuery, TableMetadata } from '@google-cloud/bigquery';

/** The marker table's id. */
export const LOCK_TABLE = '__bqmigrate_lock';

/** How long a lock lives without a refresh. @default 30 minutes */
export const LOCK_TTL_MS = 30 * 60_000;

/** Another run holds the lock. */
export class MigrationLockedError extends Error {
  constructor(
    readonly owner: string,
    readonly expiresAt: Date,
  ) {
    super(`another bq:migrate run holds the lock (${owner}, until ${expiresAt.toISOString()}); wait for it, or delete ${LOCK_TABLE} if that run is gone`);
    this.name = 'MigrationLockedError';
  }
}

function errorCode(err: unknown): number | undefined {
  return typeof err === 'object' && err !== null && 'code' in err ? Number((err).code) : undefined;
}

/** A held lock. */
export class MigrationLock {
  private constructor(
    private readonly bq: BigQuery,
    private readonly datasetId: string,
    readonly owner: string,
    private readonly ttlMs: number,
  ) {}

  /**
   * Takes the lock or throws {@link MigrationLockedError}.
   *
   * @param datasetId the central dataset (must exist)
   * @param runId the run taking it (named in the owner, so a refused run sees which run holds the lock)
   */
  static async acquire(bq: BigQuery, datasetId: string, ttlMs = LOCK_TTL_MS, runId?: string): Promise<MigrationLock> {
    const owner = `${hostname()}:${process.pid}:${runId === undefined ? randomUUID().slice(0, 8) : `run ${runId}`}`;
    const lock = new MigrationLock(bq, datasetId, owner, ttlMs);
    for (let attempt = 0; ; attempt++) {
      try {
        await bq.dataset(datasetId).createTable(LOCK_TABLE, lock.metadata());
        return lock;
      } catch (err) {
        if (errorCode(err) !== 409) throw err;
      }
      const holder = await lock.holder();
      if (holder === undefined) continue; // released meanwhile
      if (holder.expiresAt.getTime() > Date.now() || attempt > 0) throw new MigrationLockedError(holder.owner, holder.expiresAt);
      // A crashed run's lock: remove it and try once more (another taker racing us gets the 409).
      await bq.dataset(datasetId).table(LOCK_TABLE).delete({ ignoreNotFound: true });
    }
  }

  private metadata(): TableMetadata {
    const expires = Date.now() + this.ttlMs;
    return {
      schema: { fields: [{ name: 'owner', type: 'STRING' }] },
      description: JSON.stringify({ owner: this.owner, expires_at: new Date(expires).toISOString() }),
      expirationTime: String(expires),
      labels: { purpose: 'bqmigrate_lock' },
    };
  }

  /** The current holder, or undefined when there is no lock. */
  private async holder(): Promise<{ owner: string; expiresAt: Date } | undefined> {
    try {
      const [meta] = (await this.bq.dataset(this.datasetId).table(LOCK_TABLE).getMetadata()) as unknown as [TableMetadata];
      let owner = 'unknown';
      try {
        owner = String((JSON.parse(meta.description ?? '{}') as { owner?: string }).owner ?? 'unknown');
      } catch {
        // A hand-made marker: the owner is unknown, the expiry still counts.
      }
      return { owner, expiresAt: new Date(Number(meta.expirationTime ?? 0)) };
    } catch (err) {
      if (errorCode(err) === 404) return undefined;
      throw err;
    }
  }

  /** Extends the expiry; throws when the lock is no longer ours (it expired and was taken). */
  async refresh(): Promise<void> {
    const holder = await this.holder();
    if (holder?.owner !== this.owner) throw new Error(`bq:migrate lost its lock (now held by ${holder?.owner ?? 'nobody'}); stopping`);
    const { description, expirationTime } = this.metadata();
    await this.bq.dataset(this.datasetId).table(LOCK_TABLE).setMetadata({ description, expirationTime });
  }

  /** Releases the lock (only if still ours). */
  async release(): Promise<void> {
    const holder = await this.holder();
    if (holder?.owner === this.owner) await this.bq.dataset(this.datasetId).table(LOCK_TABLE).delete({ ignoreNotFound: true });
  }
}
