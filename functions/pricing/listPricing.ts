import { catalogueEntries, type PriceEntry } from '../../shared/pricing/index.js';
import { apiEntry } from './apiEntry.js';
import type { ListQuery } from './schema.js';
import { listOrgPrices, type OrgListStart } from './store.js';

/**
 * The list's sort key: provider, model, service_tier, effective_from, then source
 * (`catalogue` before `org`, so an org entry follows the catalogue entry it overrides).
 * Compared as JavaScript strings, i.e. by UTF-16 code unit: the same order as PostgreSQL's
 * `COLLATE "C"` for the ASCII the provider and model patterns allow, and `YYYY-MM-DD` dates
 * sort as days.
 */
type EntryKey = readonly [provider: string, model: string, service_tier: string, effective_from: string, source: string];

/** How many values a list cursor carries. */
export const ENTRY_KEY_ARITY = 5;

/** An entry's sort key: what a list cursor carries of a page's last item. */
export function entryKey(entry: PriceEntry): EntryKey {
  return [entry.provider, entry.model, entry.service_tier, entry.effective_from, entry.source];
}

function compareKeys(a: readonly string[], b: readonly string[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i += 1) {
    const x = a[i] as string;
    const y = b[i] as string;
    if (x !== y) return x < y ? -1 : 1;
  }
  return a.length - b.length;
}

let sortedCatalogue: readonly PriceEntry[] | undefined;

/** The catalogue in list order, as the API shows it; sorted once per instance. */
function catalogueInOrder(): readonly PriceEntry[] {
  sortedCatalogue ??= catalogueEntries()
    .map(apiEntry)
    .sort((a, b) => compareKeys(entryKey(a), entryKey(b)));
  return sortedCatalogue;
}

/**
 * Where the org's rows resume after `after`: past its first four values, or at them when
 * `after` was an entry of a source that sorts before `org` (a catalogue entry with the same
 * provider, model, tier and date, which the org entry overrides).
 */
function orgStart(after: readonly string[] | undefined): OrgListStart | undefined {
  if (after === undefined) return undefined;
  const [provider, model, tier, effectiveFrom, source] = after as EntryKey;
  return { key: [provider, model, tier, effectiveFrom], inclusive: 'org' > source };
}

export interface ListRequest {
  provider: ListQuery['provider'];
  model: ListQuery['model'];
  source: ListQuery['source'];
  /** The key of the previous page's last item (from the cursor); undefined for the first page. */
  after: readonly string[] | undefined;
  take: number;
}

/**
 * Up to `take` entries strictly after `after`, the org's and the catalogue's merged in key
 * order. The catalogue (tens of entries, shipped with the code) is filtered and sliced in
 * memory; the org's part is one keyset range query with a LIMIT of `take`, started where a
 * row of source `org` would follow `after`. Filters are exact: `model=gpt-4o` lists entries
 * for `gpt-4o`, not those that would price its snapshots (that is `/v1/pricing/resolve`).
 */
export async function listPricing(orgId: string, { provider, model, source, after, take }: ListRequest): Promise<PriceEntry[]> {
  const catalogue =
    source === 'org'
      ? []
      : catalogueInOrder()
          .filter((e) => (provider === undefined || e.provider === provider) && (model === undefined || e.model === model))
          .filter((e) => after === undefined || compareKeys(entryKey(e), after) > 0)
          .slice(0, take);
  const org = source === 'catalogue' ? [] : (await listOrgPrices(orgId, { provider, model, start: orgStart(after), take })).map(apiEntry);
  const merged: PriceEntry[] = [];
  let c = 0;
  let o = 0;
  while (merged.length < take && (c < catalogue.length || o < org.length)) {
    const fromCatalogue = catalogue[c];
    const fromOrg = org[o];
    if (fromOrg === undefined || (fromCatalogue !== undefined && compareKeys(entryKey(fromCatalogue), entryKey(fromOrg)) < 0)) {
      merged.push(fromCatalogue as PriceEntry);
      c += 1;
    } else {
      merged.push(fromOrg);
      o += 1;
    }
  }
  return merged;
}
