/** What the pipelines function, the worker and maintenance agree on: the run message, pipeline ids, shared settings, publishing a run, the org's load lock. */
export { isoDate, MAINTENANCE_TICKS_TOPIC, PIPELINE_RUNS_DEAD_LETTER_TOPIC, PIPELINE_RUNS_TOPIC, pipelineRunMessage, type PipelineRunMessage } from './message.js';
export { providerOfPipeline } from './pipelineIds.js';
export { publishRun } from './publishRun.js';
export { parsePipelineConfig, type PipelineConfig } from './config.js';
export { withOrgLoadLock, type OrgLoadLockOptions } from './orgLoadLock.js';
