/**
 * Money, exactly: one codec from the provider's answer to the API. Amounts are integer
 * nano-dollars (`bigint`), stored as NUMERIC / `numeric` text, shown as a JSON number
 * rounded half-even to 6 places only at the edge. Prices are decimals at their own scale.
 */
export { divideHalfEven, formatDecimal, parseDecimal, rescale, trimDecimal } from './decimal.js';
export { API_SCALE, formatUsd, parseUsd, parseUsdCents, sumUsd, tokensCostNanos, USD_SCALE, usdForApi, type Nanos } from './usd.js';
