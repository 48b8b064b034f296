import * as z from 'zod';

/** API.md: a provider name is `^[a-z][a-z0-9_-]{1,39}$` (pricing, integrations, pipelines). */
export const PROVIDER_PATTERN = /^[a-z][a-z0-9_-]{1,39}$/;

/** A provider name as an input field (path segment or body field), with the API's message. */
export const providerName = z.string().regex(PROVIDER_PATTERN, { error: 'must match ^[a-z][a-z0-9_-]{1,39}$' });
