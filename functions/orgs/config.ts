import { envString, parseEnv, type Env, type EnvValues } from '../../shared/config/index.js';

const orgsConfigEnv = {
  /** Admin bearer token for onboarding (Secret Manager in Google Cloud, generated locally). */
  ADMIN_TOKEN: envString('must be set (the admin token for onboarding, at least 24 characters)', {
    length: 24,
    message: 'must be at least 24 characters',
  }),
};

export type OrgsConfig = EnvValues<typeof orgsConfigEnv>;

/** Parsed at module load: without an admin token the function refuses to start. */
export function parseOrgsConfig(env: Env = process.env): OrgsConfig {
  return parseEnv(orgsConfigEnv, env);
}
