/**
 * Every function this app deploys, by name. The leak reaper recognises this app's database
 * connections by them (`application_name` = `<function>:<instance>`), so it lives in
 * `shared/` — which never imports `deploy/` — and a test in `test/deploy` holds the deploy
 * manifest to it: a function missing here would have its leaked connections ignored.
 */
export const FUNCTION_NAMES = [
  'orgs',
  'quota',
  'pricing',
  'subscriptions',
  'integrations',
  'costs',
  'pipelines',
  'pipeline-worker',
  'maintenance',
  'budgets',
  'budget-alerts',
  'budget-alert-delivery',
] as const;

/** A function of this app. */
export type FunctionName = (typeof FUNCTION_NAMES)[number];

/** Whether `name` is one of {@link FUNCTION_NAMES}. */
export function isFunctionName(name: string): name is FunctionName {
  return (FUNCTION_NAMES as readonly string[]).includes(name);
}
