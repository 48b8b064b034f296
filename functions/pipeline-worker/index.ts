import { defineEventFunction } from '../../shared/function/index.js';
import { pipelineRunMessage } from '../../shared/pipelines/index.js';
import { parseWorkerConfig } from './config.js';
import { expireRun, runPipeline } from './worker.js';

// Parsed at load: a bad setting stops the function before its first message.
const config = parseWorkerConfig();

defineEventFunction('pipeline-worker', {
  schema: pipelineRunMessage,
  maxAgeMs: config.PIPELINE_MESSAGE_MAX_AGE_MS,
  onExpired: expireRun,
  handle: (message, context) => runPipeline(message, context, config),
});
