/**
 * Demo data: deterministic synthetic usage at the providers' grain (every token class,
 * tier and project), computed from org and date alone, offline — for the `demo_usage_daily`
 * pipeline and the local stack's seed. Its rows are always labelled with their pipeline.
 */
export { DEMO_MODELS, DEMO_PIPELINE_ID, DEMO_PROJECTS, demoUsageForDay, type DemoModel } from './demoUsageForDay.js';
export { mulberry32 } from './mulberry32.js';
