import type { z } from 'zod';
import { authenticateTenant, type Tenant } from '../../shared/auth/index.js';
import { getDb } from '../../shared/db/index.js';
import { AppError, errorEnvelope, InvalidArgumentError, NotFoundError, QuotaExceededError, toAppError, UnavailableError } from '../../shared/errors/index.js';
import { keysetPage, noQuery, route, type AnyRoute } from '../../shared/http/index.js';
import { log } from '../../shared/log/index.js';
import { markPublished, providerOfPipeline, publishRun, queueRun, withdrawRun } from '../../shared/pipelines/index.js';
import { attachRun, completeKey, releaseKey, requestHash, reserveKey } from './idempotency.js';
import { IDEMPOTENCY_KEY, idempotencyKeyHeader, listQuery, queuedRun, runPage, runParams, runView, triggerBody, triggerParams } from './schema.js';
import { deleteDemoData } from './demoData.js';
import { getRun, hasIntegration, listRuns } from './store.js';

const MS_PER_DAY = 86_400_000;
/** API.md: a run's date is at most 366 days back. */
const MAX_DAYS_BACK = 366;

function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** Today's UTC midnight, in ms. */
function todayStart(now: number): number {
  return Math.floor(now / MS_PER_DAY) * MS_PER_DAY;
}

/** The run date: the body's, or yesterday (UTC); not in the future, at most 366 days back. */
function runDate(requested: string | undefined, now = Date.now()): string {
  const today = todayStart(now);
  if (requested === undefined) return utcDay(today - MS_PER_DAY);
  const day = Date.parse(`${requested}T00:00:00Z`);
  if (day > today) throw new InvalidArgumentError('Invalid body: date', [{ path: 'date', message: 'must not be in the future' }]);
  if (day < today - MAX_DAYS_BACK * MS_PER_DAY) {
    throw new InvalidArgumentError('Invalid body: date', [{ path: 'date', message: `must be at most ${MAX_DAYS_BACK} days back` }]);
  }
  return requested;
}

/** How much longer than its request an unanswered Idempotency-Key reservation lasts. */
const KEY_HOLD_MARGIN_MS = 5_000;

/** Seconds until the next UTC day, when a spent daily quota is whole again. */
function secondsUntilTomorrow(now = Date.now()): number {
  return Math.max(1, Math.ceil((todayStart(now) + MS_PER_DAY - now) / 1000));
}

/**
 * Queues a run and hands it to the topic. The database commit comes first (quota and the
 * run, in one transaction), then the publish. A publish that fails takes the run and its
 * quota back and answers 503, so the caller may simply retry. A process that dies between
 * the two leaves a queued run that was never published: maintenance's outbox sweep
 * publishes it (the run row holds all the message needs), so no run is ever lost.
 */
/** The answer of a trigger that queued its run. */
interface Queued {
  status: 202;
  body: z.output<typeof queuedRun>;
}

async function trigger(tenant: Tenant, pipelineId: string, date: string, signal: AbortSignal, idempotencyKey?: string): Promise<Queued> {
  const db = await getDb();
  const outcome = await db.withTransaction(async (client) => {
    const queued = await queueRun(client, tenant.orgId, pipelineId, date);
    // The key learns its run in the run's own transaction: a retry after a lost answer finds it.
    if (queued.kind === 'queued' && idempotencyKey !== undefined) await attachRun(client, tenant.orgId, idempotencyKey, queued.runId);
    return queued;
  });
  if (outcome.kind === 'quota') {
    throw new QuotaExceededError(`The ${tenant.plan} plan allows ${outcome.dailyLimit} pipeline runs a day (UTC)`, secondsUntilTomorrow());
  }
  if (outcome.kind === 'active') {
    throw new AppError('ALREADY_EXISTS', `A run of ${pipelineId} for ${date} is already queued or running`, {
      details: [{ path: 'run_id', message: outcome.runId }],
    });
  }
  const runId = outcome.runId;
  try {
    await publishRun({ run_id: runId, org_slug: tenant.orgSlug, pipeline_id: pipelineId, date }, signal);
  } catch (error) {
    let withdrawn = false;
    try {
      withdrawn = await withdrawRun(tenant.orgId, runId);
    } catch (cleanup) {
      // The run stays queued and unpublished: maintenance's outbox sweep will publish it.
      log.error('Taking back a run whose publish failed failed; maintenance will publish it', cleanup, { run_id: runId });
    }
    log.error('Publishing a pipeline run failed', error, { run_id: runId, withdrawn });
    throw new UnavailableError(
      withdrawn ? 'The run could not be queued; nothing was recorded or counted. Retry shortly' : 'The run could not be handed to the pipeline yet; it will start shortly',
      { retryAfterSeconds: 5, cause: error },
    );
  }
  try {
    await markPublished(runId);
  } catch (error) {
    // Only bookkeeping: the run is on the topic. At worst the sweep publishes it again.
    log.warn('Recording a run as published failed', { run_id: runId, err: toAppError(error).code });
  }
  return { status: 202, body: { run_id: runId, status: 'queued' } };
}

/** A cursor is valid only for the org and the filters it was issued for. */
function cursorScope(orgId: string, status: string | undefined, pipelineId: string | undefined): string {
  return `pipeline-runs|${orgId}|status=${status ?? ''}|pipeline=${pipelineId ?? ''}`;
}

/** The pipelines routes: trigger a run, read one, list them; remove the demo's data. */
export function pipelineRoutes(): AnyRoute[] {
  return [
    route({
      method: 'DELETE',
      path: '/v1/pipelines/demo_usage_daily/data',
      summary: 'Remove every demo row of the org',
      auth: authenticateTenant,
      query: noQuery,
      responses: { 204: { description: 'Removed (also when there were none)' } },
      handler: async ({ auth, deadline }) => {
        await deleteDemoData(auth, deadline);
        return { status: 204 };
      },
    }),
    route({
      method: 'POST',
      path: '/v1/pipelines/:pipeline_id/runs',
      summary: 'Trigger a pipeline run for a day',
      description:
        '`pipeline_id` is `<provider>_usage_daily` for a provider with a stored integration, or `demo_usage_daily`. `date` defaults to yesterday (UTC), not in the future, at most 366 days back. Only a trigger that queues a run counts against the daily quota; a run that cannot be published is 503 and leaves nothing behind.',
      auth: authenticateTenant,
      params: triggerParams,
      query: noQuery,
      body: triggerBody,
      requestHeaders: { 'Idempotency-Key': idempotencyKeyHeader },
      responses: {
        202: {
          description: 'Queued and handed to the pipeline-runs topic',
          body: queuedRun,
          headers: { 'Idempotent-Replayed': { description: '`true` when this is the stored answer of an earlier request with the same Idempotency-Key' } },
        },
      },
      errors: ['NOT_FOUND', 'ALREADY_EXISTS', 'QUOTA_EXCEEDED'],
      handler: async ({ auth, params, body, req, requestId, deadline }) => {
        const date = runDate(body?.date);
        const provider = providerOfPipeline(params.pipeline_id);
        if (provider === undefined || (provider !== 'demo' && !(await hasIntegration(auth.orgId, provider)))) {
          throw new NotFoundError(`No pipeline ${params.pipeline_id} for this org`);
        }
        const key = req.get('idempotency-key');
        if (key === undefined) return trigger(auth, params.pipeline_id, date, deadline.signal);
        if (!IDEMPOTENCY_KEY.test(key)) {
          throw new InvalidArgumentError('Invalid header: Idempotency-Key', [{ path: 'Idempotency-Key', message: 'must be 1–200 printable characters' }]);
        }
        const scope = `POST /v1/pipelines/${params.pipeline_id}/runs`;
        // Held while this request may run (and a little longer), not for 24 h: if it dies, a retry takes over.
        const reservation = await reserveKey(auth.orgId, key, scope, requestHash(scope, body), deadline.remainingMs() + KEY_HOLD_MARGIN_MS);
        if (reservation.kind === 'replay') {
          // The stored first answer, as it was: the 202 above, or a 409/429 envelope — all
          // declared by this route; stored as JSON, so its type is not known here.
          return { status: reservation.answer.status, body: reservation.answer.body, headers: { 'idempotent-replayed': 'true' } } as Queued;
        }
        try {
          const answer = await trigger(auth, params.pipeline_id, date, deadline.signal, key);
          await completeKey(auth.orgId, key, { status: answer.status, body: answer.body });
          return answer;
        } catch (error) {
          const failure = toAppError(error);
          // A refusal (409, 429) is the request's answer and replays; a failure worth
          // retrying (5xx) frees the key so the retry runs afresh.
          if (failure.isServerError) await releaseKey(auth.orgId, key);
          else await completeKey(auth.orgId, key, { status: failure.status, body: errorEnvelope(failure, requestId) });
          throw error;
        }
      },
    }),
    route({
      method: 'GET',
      path: '/v1/pipelines/runs/:run_id',
      summary: 'Read a run',
      auth: authenticateTenant,
      params: runParams,
      query: noQuery,
      responses: { 200: { description: 'The run', body: runView } },
      errors: ['NOT_FOUND'],
      handler: async ({ auth, params }) => {
        const run = await getRun(auth.orgId, params.run_id);
        if (run === undefined) throw new NotFoundError('Run not found');
        return { body: run };
      },
    }),
    route({
      method: 'GET',
      path: '/v1/pipelines/runs',
      summary: 'List the org’s runs, newest first',
      auth: authenticateTenant,
      query: listQuery,
      responses: { 200: { description: 'A page of runs', body: runPage } },
      handler: async ({ auth, query }) => {
        const page = await keysetPage({
          scope: cursorScope(auth.orgId, query.status, query.pipeline_id),
          cursor: query.cursor,
          limit: query.limit,
          arity: 2,
          load: (after, take) => {
            const [createdMicros, id] = after ?? [];
            if (after !== undefined && (!/^\d{1,20}$/.test(createdMicros ?? '') || !runParams.shape.run_id.safeParse(id).success)) {
              throw new InvalidArgumentError('Invalid query parameters: cursor', [{ path: 'cursor', message: 'is not a cursor returned by this list' }]);
            }
            const key = after === undefined ? undefined : { createdMicros: createdMicros as string, id: id as string };
            return listRuns(auth.orgId, { status: query.status, pipelineId: query.pipeline_id, after: key, take });
          },
          keyOf: (run) => [run.created_micros, run.run_id],
        });
        return { body: { items: page.items.map(({ created_micros: _, ...run }) => run), next_cursor: page.next_cursor } };
      },
    }),
  ];
}
