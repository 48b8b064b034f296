import { modelMatches } from '../pricing/index.js';
import type { SpendLine } from '../spend/index.js';

/**
 * What part of the org's spend a budget watches; every field given must match, an empty
 * scope is all spend. The fields mean what they mean in `/v1/costs`: an LLM line has its
 * provider, its model (as reported) and `vendor` = its provider; a SaaS line has only its
 * vendor — so a `provider` or `model` scope never counts a subscription.
 */
export interface BudgetScope {
  category?: 'llm' | 'saas';
  provider?: string;
  /** The model id, which also covers its dated snapshots (`gpt-4o` covers `gpt-4o-2024-08-06`), as pricing matches them. */
  model?: string;
  vendor?: string;
}

export function inScope(scope: BudgetScope, line: SpendLine): boolean {
  if (scope.category !== undefined && line.category !== scope.category) return false;
  if (scope.vendor !== undefined && line.vendor !== scope.vendor) return false;
  if (scope.provider !== undefined && line.provider !== scope.provider) return false;
  if (scope.model !== undefined && (line.model === null || !modelMatches(scope.model, 'snapshots', line.model))) return false;
  return true;
}
