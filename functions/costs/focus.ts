/**
 * FOCUS 1.2 rows (FinOps Open Cost and Usage Specification): the columns the export writes,
 * and their CSV (RFC 4180) and JSON Lines encodings.
 *
 * Column definitions read from FinOps-Open-Cost-and-Usage-Spec/FOCUS_Spec,
 * `specification/columns/`: `billedcost.md` (Decimal, not null; the basis for invoicing),
 * `servicecategory.md` (allowed values: "AI and Machine Learning", "Business
 * Applications", …), `pricingquantity.md` (Decimal; not null for Usage and Purchase unless
 * ChargeClass is "Correction"; null for Tax), and `chargecategory.md`, `chargeclass.md`,
 * `chargeperiodstart.md`, `chargeperiodend.md`, `billingperiodstart.md`,
 * `billingperiodend.md`, `consumedquantity.md` from the same folder: ChargeCategory one of
 * Usage, Purchase, Tax, Credit, Adjustment; ChargeClass null or "Correction"; date-times in
 * ISO 8601 UTC with `Z`, periods inclusive of their start and exclusive of their end; the
 * billing period is the calendar month of the charge; custom columns carry an `x_` prefix.
 */

/** Columns of type Decimal: exact decimal text, written unquoted (a JSON number in JSONL). */
const DECIMAL_COLUMNS = ['BilledCost', 'EffectiveCost', 'ListCost', 'ContractedCost', 'PricingQuantity', 'ConsumedQuantity'] as const;

/** Every column, in the order of the header. */
export const FOCUS_COLUMNS = [
  'BilledCost',
  'EffectiveCost',
  'ListCost',
  'ContractedCost',
  'BillingAccountId',
  'BillingAccountName',
  'BillingCurrency',
  'BillingPeriodStart',
  'BillingPeriodEnd',
  'ChargePeriodStart',
  'ChargePeriodEnd',
  'ChargeCategory',
  'ChargeClass',
  'ChargeDescription',
  'PricingQuantity',
  'PricingUnit',
  'ProviderName',
  'PublisherName',
  'InvoiceIssuerName',
  'ServiceName',
  'ServiceCategory',
  'ConsumedQuantity',
  'ConsumedUnit',
  'SubAccountId',
  'SubAccountName',
  'x_Model',
  'x_TokenClass',
  'x_ServiceTier',
  'x_Source',
] as const;

export type FocusColumn = (typeof FOCUS_COLUMNS)[number];
type DecimalColumn = (typeof DECIMAL_COLUMNS)[number];

/** The FOCUS ChargeCategory values (`chargecategory.md`). */
export type ChargeCategory = 'Usage' | 'Purchase' | 'Tax' | 'Credit' | 'Adjustment';

/** One FOCUS row: decimals as exact text, every other column as text or null. */
export type FocusRow = Record<Exclude<FocusColumn, DecimalColumn | 'ChargeCategory'>, string | null> &
  Record<'BilledCost' | 'EffectiveCost' | 'ListCost' | 'ContractedCost', string> &
  Record<'PricingQuantity' | 'ConsumedQuantity', string | null> & { ChargeCategory: ChargeCategory };

/** The export's formats. */
export const EXPORT_FORMATS = ['csv', 'jsonl'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

const NEEDS_QUOTES = /[",\r\n]/;

/** One CSV field (RFC 4180): quoted when it holds a comma, a double quote, CR or LF, quotes doubled; null is empty. */
function csvField(value: string | null): string {
  if (value === null) return '';
  return NEEDS_QUOTES.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

const decimal = new Set<string>(DECIMAL_COLUMNS);

/** The CSV header line, CRLF-terminated. */
export function csvHeader(): string {
  return `${FOCUS_COLUMNS.join(',')}\r\n`;
}

/** One row as a CSV record, CRLF-terminated. */
export function csvLine(row: FocusRow): string {
  return `${FOCUS_COLUMNS.map((c) => csvField(row[c])).join(',')}\r\n`;
}

/**
 * One row as a JSON object on one line. Decimals are written as JSON numbers from their
 * exact text (never through a float), so a reader with a decimal parser gets them exactly.
 */
export function jsonLine(row: FocusRow): string {
  const fields = FOCUS_COLUMNS.map((c) => {
    const value = row[c];
    return `${JSON.stringify(c)}:${value === null ? 'null' : decimal.has(c) ? value : JSON.stringify(value)}`;
  });
  return `{${fields.join(',')}}\n`;
}

/** `YYYY-MM-DD` → its first instant, ISO 8601 UTC. */
export function startOfDay(day: string): string {
  return `${day}T00:00:00Z`;
}

/** `YYYY-MM-DD` → the first instant of the next day (FOCUS periods end exclusively). */
export function endOfDay(day: string): string {
  const d = new Date(`${day}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + 1);
  return d.toISOString().replace('.000Z', 'Z');
}

/** The calendar month of `day`: [first instant, first instant of the next month). */
export function billingPeriodOf(day: string): { start: string; end: string } {
  const [year, month] = [Number(day.slice(0, 4)), Number(day.slice(5, 7))];
  const end = new Date(Date.UTC(year, month, 1)).toISOString().replace('.000Z', 'Z');
  return { start: `${day.slice(0, 7)}-01T00:00:00Z`, end };
}
