import type { Env } from '../config/index.js';
import { InternalError } from '../errors/index.js';

/** The real hosts of the providers we know; anything else needs `PROVIDER_BASE_URL_<NAME>`. */
const DEFAULT_BASE_URLS: Readonly<Record<string, string>> = {
  openai: 'https://api.openai.com',
  anthropic: 'https://api.anthropic.com',
  mistral: 'https://api.mistral.ai',
  groq: 'https://api.groq.com/openai',
};

/** `openai` → `PROVIDER_BASE_URL_OPENAI`; `-` becomes `_` (not allowed in variable names). */
export function baseUrlVariable(provider: string): string {
  return `PROVIDER_BASE_URL_${provider.toUpperCase().replace(/-/g, '_')}`;
}

/**
 * The base URL of a provider's API: the environment's override (tests and the local stack
 * point it at a fake), else the provider's real host; undefined for a provider we know no
 * host of. Read per call, so it is whatever the environment says now — the variable's name
 * depends on the provider, so it cannot be one key of a parsed config schema; `env` is an
 * argument like every config parser's.
 *
 * @throws InternalError when the variable is set but not an http(s) URL
 */
export function providerBaseUrl(provider: string, env: Env = process.env): URL | undefined {
  const variable = baseUrlVariable(provider);
  const configured = env[variable]?.trim();
  const raw = configured === undefined || configured === '' ? DEFAULT_BASE_URLS[provider] : configured;
  if (raw === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new InternalError(`${variable} is not a URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new InternalError(`${variable} must be an http(s) URL`);
  return url;
}
