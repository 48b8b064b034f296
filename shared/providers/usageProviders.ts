/** The pipelines that pull usage: `<provider>_usage_daily` for these providers. */
export const USAGE_PROVIDERS = ['demo', 'openai', 'anthropic'] as const;

export type UsageProvider = (typeof USAGE_PROVIDERS)[number];

/** True for a provider a usage pipeline exists for. */
export function isUsageProvider(value: string): value is UsageProvider {
  return (USAGE_PROVIDERS as readonly string[]).includes(value);
}
