import type { AnyRoute } from '../http/index.js';
import { addLogContext } from '../log/index.js';
import { actionOf } from './auditRow.js';

/**
 * For admin routes that act on an org they are not authenticated as (onboarding names the
 * org in its body): wraps each listed route so that, once its body is parsed, the org it
 * names becomes the invocation's org — in every later log line and in the audit row, even
 * when the call then fails (a taken slug is worth auditing too).
 *
 * @param orgFields - action (`METHOD /route`) → the body field that names the org
 */
export function withAuditedOrg(routes: readonly AnyRoute[], orgFields: Readonly<Record<string, string>>): AnyRoute[] {
  return routes.map((route) => {
    const field = orgFields[actionOf({ method: route.method, route: route.path })];
    if (field === undefined) return route;
    const handler = route.handler;
    return {
      ...route,
      handler: async function handleWithAuditedOrg(ctx) {
        const org: unknown = (ctx.body as Record<string, unknown> | undefined)?.[field];
        if (typeof org === 'string') addLogContext({ org });
        return handler(ctx);
      },
    };
  });
}
