import * as z from 'zod';
import { storableText, timestamp } from '../../shared/http/index.js';
import { providerName } from '../../shared/providers/index.js';

export const MAX_CREDENTIAL_CHARS = 4096;

/** `/v1/integrations/{provider}`. */
export const providerParams = z.strictObject({
  provider: providerName,
});

/**
 * A credential is stored exactly as sent — not trimmed (whitespace may be part of it) —
 * and must survive the UTF-8 round trip through encryption unchanged.
 */
export const putBody = z.strictObject({
  credential: storableText({ min: 1, max: MAX_CREDENTIAL_CHARS, trim: false }),
  validate: z.boolean({ error: 'must be true or false' }).optional(),
});
export type PutBody = z.infer<typeof putBody>;

/** An integration as the API shows it: status and fingerprint, never the credential. */
export const integrationView = z.object({
  provider: z.string(),
  status: z.enum(['stored', 'valid', 'invalid']).describe('`stored` when not validated; `valid`/`invalid` as the provider answered'),
  fingerprint: z.string().describe('The credential’s last 4 characters (empty for a short credential)'),
  updated_at: timestamp,
  last_validated_at: timestamp.nullable(),
});

/** `GET /v1/integrations`. */
export const integrationList = z.object({ items: z.array(integrationView) });
