import type { MatchMode } from './PriceEntry.js';

/** A dated snapshot suffix: `-2024-07-18` (OpenAI) or `-20250929` (Anthropic). */
const SNAPSHOT_SUFFIX = /^-(?:\d{4}-\d{2}-\d{2}|\d{8})$/;

/**
 * Whether an entry for `entryModel` prices the reported `model`: an `exact` entry only its
 * own id; a `snapshots` entry also `<entryModel>-YYYY-MM-DD` and `<entryModel>-YYYYMMDD`.
 * The suffix must be a date and nothing else, so `gpt-4o` never prices
 * `gpt-4o-mini-2024-07-18`.
 */
export function modelMatches(entryModel: string, match: MatchMode, model: string): boolean {
  if (model === entryModel) return true;
  if (match !== 'snapshots' || !model.startsWith(entryModel)) return false;
  return SNAPSHOT_SUFFIX.test(model.slice(entryModel.length));
}
