import { randomBytes } from 'node:crypto';

/** A short random id for this instance (process), fixed for its lifetime. */
export const INSTANCE_ID = randomBytes(4).toString('hex');

/** `application_name` for this function's pool: `<function>:<instance>` (≤ 63 chars). */
export function applicationNameFor(functionName: string, instanceId: string = INSTANCE_ID): string {
  return `${functionName.slice(0, 50)}:${instanceId}`;
}
