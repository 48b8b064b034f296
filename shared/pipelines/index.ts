/**
 * What the pipelines function, the worker, maintenance and quota agree on: the run message,
 * pipeline ids, shared settings, publishing a run — and the run store: the run's states and
 * transitions (queue, publish mark, withdraw, claim and lease takeover, finish, release,
 * fail, defer and hand-off, requeue), one function each, the lease's SQL defined once —
 * and the org's load lock, which runs an org's BigQuery loads one at a time.
 */
export { isoDate, MAINTENANCE_TICKS_TOPIC, PIPELINE_RUNS_DEAD_LETTER_TOPIC, PIPELINE_RUNS_TOPIC, pipelineRunMessage, type PipelineRunMessage } from './message.js';
export { providerOfPipeline } from './pipelineIds.js';
export { publishRun } from './publishRun.js';
export { parsePipelineConfig, type PipelineConfig } from './config.js';
export { deferRun, takeNextWaitingRun } from './runSlots.js';
export { CLEAR_LEASE, leaseIsLive } from './runLease.js';
export { markPublished, queueRun, withdrawRun, type QueueOutcome } from './queueRun.js';
export { claimRun, failUnclaimedRun, finishRun, releaseRun, type Claim, type FailedRun, type RunOutcome } from './runTransitions.js';
export { appendHistory, recordRunHistory, type HistoryRow } from './appendRunHistory.js';
export { markRepublished, requeueExpiredRuns, staleQueuedRuns, unmarkRepublished, type RunToPublish } from './republishRuns.js';
export { withOrgLoadLock, type OrgLoadLockOptions } from './orgLoadLock.js';
