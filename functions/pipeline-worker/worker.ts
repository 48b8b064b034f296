import { setTimeout as sleep } from 'node:timers/promises';
import { publishUsageUpdated } from '../../shared/budgets/index.js';
import { credentialAad, getKek, loadSealedCredential, openSecret } from '../../shared/crypto/index.js';
import { getDb, type Db } from '../../shared/db/index.js';
import type { Deadline } from '../../shared/deadline/index.js';
import { AppError, toAppError, UnavailableError } from '../../shared/errors/index.js';
import { addLogContext, log } from '../../shared/log/index.js';
import {
  claimRun,
  deferRun,
  failUnclaimedRun,
  finishRun,
  providerOfPipeline,
  publishRun,
  recordRunHistory,
  releaseRun,
  takeNextWaitingRun,
  withOrgLoadLock,
  type Claim,
  type PipelineRunMessage,
  type RunOutcome,
} from '../../shared/pipelines/index.js';
import { demoUsageForDay } from '../../shared/demo/index.js';
import { formatUsd } from '../../shared/money/index.js';
import { catalogueEntries, loadOrgPriceEntries, priceUsage } from '../../shared/pricing/index.js';
import { fetchUsage, ProviderCredentialError, ProviderResponseError, providerBaseUrl, type UsageProvider } from '../../shared/providers/index.js';
import type { UsageFetch } from '../../shared/usage/index.js';
import type { MessageContext } from '../../shared/pubsub/index.js';
import type { WorkerConfig } from './config.js';
import { replaceDay } from './load.js';

/** What a successful attempt produced. */
interface Loaded {
  rowsLoaded: number;
  costUsd: string;
  unpricedRows: number;
}

/**
 * A reason safe to show the tenant and store: never a credential, a stack, or a
 * backend's internals. Provider errors are written to be shown; our own server errors
 * are named by what failed, not how.
 */
export function safeReason(error: unknown): string {
  if (error instanceof ProviderCredentialError || error instanceof ProviderResponseError) return error.message;
  const appError = toAppError(error);
  switch (appError.code) {
    case 'UNAVAILABLE':
      return 'A provider or backend was unavailable';
    case 'DEADLINE_EXCEEDED':
      return 'The run did not finish within its time budget';
    case 'INVALID_ARGUMENT':
    case 'NOT_FOUND':
    case 'PERMISSION_DENIED':
    case 'UNAUTHENTICATED':
      return appError.message;
    default:
      return 'Internal error';
  }
}

/** The org's stored credential for `provider`, opened with this instance's key-encryption key. */
async function credentialFor(orgId: string, provider: string): Promise<string> {
  const sealed = await loadSealedCredential(orgId, provider);
  if (sealed === undefined) throw new ProviderCredentialError(provider, `No ${provider} credential is stored for this org`);
  return openSecret(sealed, credentialAad(orgId, provider), await getKek());
}

/** The day's usage (and the provider's bill) from the pipeline's source. */
async function pull(message: PipelineRunMessage, orgId: string, provider: UsageProvider, config: WorkerConfig, signal: AbortSignal): Promise<UsageFetch> {
  if (provider === 'demo') return { rows: demoUsageForDay({ orgSlug: message.org_slug, date: message.date }), billed: null };
  return fetchUsage({
    provider,
    date: message.date,
    credential: await credentialFor(orgId, provider),
    baseUrl: providerBaseUrl(provider),
    signal,
    retry: { maxAttempts: config.PROVIDER_REQUEST_ATTEMPTS },
  });
}

/**
 * Pull, price, replace: one attempt at a claimed run. Prices are the org's own entries over
 * the shipped catalogue, class by class, as in force on the run's date; the load replaces
 * only the rows this pipeline loaded for that date.
 *
 * The load runs under the org's load lock: BigQuery aborts one of two concurrent
 * transactions on one table, and all of an org's loads write its `llm_usage_daily`. The
 * wait for the lock takes at most half of what is left of the invocation, so the load
 * keeps the other half; past it the attempt fails as retryable (`UNAVAILABLE`).
 */
async function execute(message: PipelineRunMessage, orgId: string, provider: UsageProvider, config: WorkerConfig, deadline: Deadline): Promise<Loaded> {
  const usage = await pull(message, orgId, provider, config, deadline.signal);
  const db = await getDb();
  const providers = [...new Set(usage.rows.map((r) => r.provider))];
  const entries = [...(await loadOrgPriceEntries(db, orgId, providers)), ...catalogueEntries()];
  const priced = priceUsage(usage.rows, entries);
  const lock = { tier: 'batch', signal: deadline.signal, maxWaitMs: deadline.remainingMs() / 2 } as const;
  await withOrgLoadLock(db, orgId, lock, () =>
    replaceDay({ orgSlug: message.org_slug, date: message.date, runId: message.run_id, source: message.pipeline_id, rows: priced.rows, billed: usage.billed }),
  );
  return { rowsLoaded: priced.rows.length, costUsd: formatUsd(priced.totalNanos), unpricedRows: priced.unpricedRows };
}

/**
 * Handles one `pipeline-runs` delivery. The acknowledgement contract:
 *
 * - returns (ack): the run succeeded; or it failed for good (a permanent failure: credential
 *   rejected, malformed provider answer, unknown pipeline); or there was nothing to do (a
 *   duplicate of a finished run, a run another worker holds a live lease on, no such run);
 * - throws a retryable error (nack, Pub/Sub redelivers with backoff): a transient failure
 *   (the run goes back to `queued`, its slot freed), or the org at its concurrency limit
 *   (the run stays `queued`). On its last attempt a transient failure fails the run and
 *   still nacks, so Pub/Sub forwards the message to the dead-letter topic.
 */
export async function runPipeline(message: PipelineRunMessage, context: MessageContext, config: WorkerConfig): Promise<void> {
  addLogContext({ org: message.org_slug, runId: message.run_id });
  const provider = providerOfPipeline(message.pipeline_id);
  const db = await getDb();
  if (provider === undefined) {
    await failAndRecord(db, message, `Unknown pipeline ${message.pipeline_id}`);
    throw new AppError('INVALID_ARGUMENT', `Unknown pipeline ${message.pipeline_id}`);
  }
  const claim = await claimOrTakeOver(db, message, context);
  switch (claim.kind) {
    case 'missing':
      log.warn('No run matches this message; acked', { pipeline_id: message.pipeline_id, date: message.date });
      return;
    case 'finished':
      log.info('The run already finished; duplicate delivery acked', { status: claim.status });
      return;
    case 'leased':
      if (claim.sameMessage) {
        // An earlier delivery of this message holds the lease and never answered: its
        // worker died. Its lease ends too late to wait for here: come back after it.
        throw new UnavailableError('An earlier delivery of this message holds the run\'s lease; retry once it expires');
      }
      log.info('Another worker holds a live lease on this run; duplicate delivery acked');
      return;
    case 'org-busy':
      // Acked, not retried: the run waits, queued, for the run that frees a slot to hand it on.
      await deferRun(db, message.run_id);
      log.info(`The org is running its plan's limit of ${claim.limit} pipelines; the run waits for a free slot`);
      return;
    case 'claimed':
      break;
  }
  const { orgId, token, attempt } = claim;
  log.info('Run claimed', { attempt, pipeline_id: message.pipeline_id, date: message.date });

  let outcome: RunOutcome;
  let failure: AppError | undefined;
  try {
    const loaded = await execute(message, orgId, provider, config, context.deadline);
    outcome = { status: 'succeeded', error: null, ...loaded };
  } catch (error) {
    failure = toAppError(error);
    const reason = safeReason(error);
    if (failure.retryable && attempt < config.PIPELINE_MAX_ATTEMPTS) {
      log.warn('Run attempt failed; giving the run back for a retry', { attempt, code: failure.code, reason });
      await giveBack(message.run_id, token, reason);
      await handOff(orgId);
      throw failure;
    }
    log.error(failure.retryable ? `Run failed after ${attempt} attempts` : 'Run failed', error, { attempt, code: failure.code });
    outcome = { status: 'failed', error: failure.retryable ? `${reason} (gave up after ${attempt} attempts)` : reason, rowsLoaded: 0, costUsd: '0', unpricedRows: 0 };
  }

  const finished = await finishRun(db, message.run_id, token, outcome);
  await handOff(orgId);
  if (finished === undefined) {
    log.warn('The lease expired before the run was recorded; the worker that took it over records it', { attempt });
  } else {
    log.info(`Run ${outcome.status}`, { attempt, rows_loaded: outcome.rowsLoaded, cost_usd: outcome.costUsd, unpriced_rows: outcome.unpricedRows });
    await recordRunHistory({
        runId: message.run_id,
        orgSlug: message.org_slug,
        pipelineId: message.pipeline_id,
        date: message.date,
        attempt,
        status: outcome.status,
        rowsLoaded: outcome.rowsLoaded,
        costUsd: outcome.costUsd,
        unpricedRows: outcome.unpricedRows,
        error: outcome.error,
        createdAt: claim.createdAt,
        startedAt: claim.startedAt,
        finishedAt: finished.finishedAt,
      });
  }
  // A succeeded run replaced the day's rows: the org's budgets may have crossed something.
  if (finished !== undefined && outcome.status === 'succeeded') await publishUsageUpdated(message.org_slug, [message.date], message.run_id);
  // The last transient failure nacks, so Pub/Sub dead-letters the message.
  if (failure !== undefined && failure.retryable) throw failure;
}

/**
 * Claims the run; or, when an earlier delivery of this very message holds its lease (that
 * delivery never answered: its worker died) and the lease ends within the first half of
 * what is left of this invocation, waits for it to end and claims the run then. A
 * redelivery that only nacked would spend one of the subscription's few delivery attempts
 * per backoff while the lease runs out — all of them, when the backoffs are shorter than
 * the lease — and the message would be dead-lettered with its run still `running`.
 */
async function claimOrTakeOver(db: Db, message: PipelineRunMessage, context: MessageContext): Promise<Claim> {
  // The lease lasts as long as this invocation may: past it, the platform has ended us.
  const claimNow = (): Promise<Claim> => claimRun(db, message, context.deadline.remainingMs() + 1_000, context.messageId);
  const claim = await claimNow();
  if (claim.kind !== 'leased' || !claim.sameMessage || claim.leaseLeftMs > context.deadline.remainingMs() / 2) return claim;
  const waitMs = claim.leaseLeftMs + TAKEOVER_SLACK_MS;
  log.info('An earlier delivery of this message holds the run\'s lease and never answered; taking the run over when it expires', { wait_ms: waitMs });
  try {
    await sleep(waitMs, undefined, { signal: context.deadline.signal });
  } catch {
    throw new UnavailableError('The invocation ended while waiting for an expired worker\'s lease');
  }
  return claimNow();
}

/**
 * A slot of the org is free again: its oldest run waiting for one is published. Best
 * effort — what this misses, maintenance's outbox sweep publishes — and it never fails the
 * run that freed the slot.
 */
async function handOff(orgId: string): Promise<void> {
  try {
    const next = await takeNextWaitingRun(await getDb(), orgId);
    if (next === undefined) return;
    await publishRun(next);
    log.info('Handed the freed slot to the org\'s next waiting run', { next_run_id: next.run_id });
  } catch (error) {
    log.error('Handing the freed slot on failed; maintenance publishes the waiting run', error);
  }
}

/** Waited past a dead worker's lease end, so the database's `now()` is past it too. */
const TAKEOVER_SLACK_MS = 250;

/** Releases the lease after a transient failure; its own failure must not hide the first. */
async function giveBack(runId: string, token: string, reason: string): Promise<void> {
  try {
    const db = await getDb();
    await releaseRun(db, runId, token, reason);
  } catch (error) {
    // The lease expires at our deadline; the next delivery takes the run over then.
    log.error('Giving the run back failed; its lease will expire instead', error, { run_id: runId });
  }
}

/** Fails a run no delivery claimed, and appends it to the history like any finished run. */
async function failAndRecord(db: Db, message: PipelineRunMessage, error: string): Promise<boolean> {
  const failed = await failUnclaimedRun(db, message, error);
  if (failed === undefined) return false;
  await recordRunHistory({
    runId: message.run_id,
    orgSlug: message.org_slug,
    pipelineId: message.pipeline_id,
    date: message.date,
    attempt: failed.attempts,
    status: 'failed',
    rowsLoaded: 0,
    costUsd: '0',
    unpricedRows: 0,
    error,
    createdAt: failed.createdAt,
    startedAt: failed.startedAt,
    finishedAt: failed.finishedAt,
  });
  return true;
}

/** A message too old to run: its run fails (unless it already ended) and the message is acked. */
export async function expireRun(message: PipelineRunMessage): Promise<void> {
  const db = await getDb();
  const failed = await failAndRecord(db, message, 'The run message expired before the run could start');
  log.error('Dropped an expired pipeline-runs message', undefined, { run_id: message.run_id, run_failed: failed });
}
