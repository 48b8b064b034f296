import * as z from 'zod';
import { envString, parseEnv, type Env } from '../../shared/config/index.js';

const orgsConfigSchema = z.object({
  /** Admin bearer token for onboarding (Secret Manager in Google Cloud, generated locally). */
  ADMIN_TOKEN: envString('must be set (the admin token for onboarding, at least 24 characters)').min(24, {
    error: 'must be at least 24 characters',
  }),
});

export type OrgsConfig = z.infer<typeof orgsConfigSchema>;

/** Parsed at module load: without an admin token the function refuses to start. */
export function parseOrgsConfig(env: Env = process.env): OrgsConfig {
  return parseEnv(orgsConfigSchema, env);
}
