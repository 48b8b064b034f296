/** Tenant API-key and admin-token authentication, with batched last-used writes. */
export { API_KEY_PATTERN, bearerToken, generateApiKey, hashApiKey, secretsEqual, type NewApiKey } from './apiKeys.js';
export {
  adminAuthenticator,
  authCacheStats,
  authLookupStats,
  authenticateTenant,
  flushLastUsedIfDue,
  forgetApiKey,
  lastUsed,
  type Tenant,
} from './authenticate.js';
export { LastUsedBuffer, type LastUsedBufferOptions } from './LastUsedBuffer.js';
export { LookupGate, type LookupGateStats } from './LookupGate.js';
