/**
 * The service tiers prices are kept for. A provider's own tier names are mapped onto these
 * when usage is read (OpenAI `default` → `standard`, `batch: true` → `batch`; Anthropic
 * `priority_on_demand` → `priority`, `flex_discount` → `flex`); a tier no mapping knows is
 * kept as the provider spells it, and priced only by an entry for that exact tier.
 */
export const SERVICE_TIERS = ['standard', 'batch', 'flex', 'priority'] as const;

export type ServiceTier = (typeof SERVICE_TIERS)[number];

export function isServiceTier(value: string): value is ServiceTier {
  return (SERVICE_TIERS as readonly string[]).includes(value);
}
