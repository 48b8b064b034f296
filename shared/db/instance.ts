import { randomBytes } from 'node:crypto';

/** A short random id for this instance (process), fixed for its lifetime. */
export const INSTANCE_ID = randomBytes(4).toString('hex');

/** `application_name` for this function's pool: `<function>:<instance>` (≤ 63 chars). */
export function applicationNameFor(functionName: string, instanceId: string = INSTANCE_ID): string {
  return `${functionName.slice(0, 50)}:${instanceId}`;
}

/**
 * What an `application_name` of this app looks like: `<function>:<instance>`. PostgreSQL
 * regex syntax and JavaScript's agree on it, so the reaper's SQL and {@link parseApplicationName}
 * share it.
 */
export const APP_NAME_PATTERN = '^[a-z][a-z0-9-]*:[A-Za-z0-9_.-]+$';

const APP_NAME = new RegExp(APP_NAME_PATTERN);

/**
 * The inverse of {@link applicationNameFor}: the function and instance an
 * `application_name` names, or undefined when it is not of the form `<function>:<instance>`
 * or names a function not in `functionNames`.
 */
export function parseApplicationName(
  applicationName: string,
  functionNames: readonly string[],
): { functionName: string; instance: string } | undefined {
  if (!APP_NAME.test(applicationName)) return undefined;
  const separator = applicationName.indexOf(':');
  const functionName = applicationName.slice(0, separator);
  if (!functionNames.includes(functionName)) return undefined;
  return { functionName, instance: applicationName.slice(separator + 1) };
}
