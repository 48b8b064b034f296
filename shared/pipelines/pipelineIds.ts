import { isUsageProvider, type UsageProvider } from '../providers/index.js';

/**
 * Pipeline ids are `<provider>_usage_daily`. `demo_usage_daily` is always available
 * (deterministic offline data); the others need the org's stored integration.
 */
const SUFFIX = '_usage_daily';

/** The provider a pipeline id pulls from, or undefined for an id that names no pipeline. */
export function providerOfPipeline(pipelineId: string): UsageProvider | undefined {
  if (!pipelineId.endsWith(SUFFIX)) return undefined;
  const provider = pipelineId.slice(0, -SUFFIX.length);
  return isUsageProvider(provider) ? provider : undefined;
}
