import { createAuditHook } from '../../shared/audit/index.js';
import { defineHttpFunction } from '../../shared/function/index.js';
import { pipelineRoutes } from './routes.js';

defineHttpFunction('pipelines', { routes: pipelineRoutes(), audit: createAuditHook() });
