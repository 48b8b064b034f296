import { z } from 'zod';
import { storableText } from '../../shared/http/index.js';
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
