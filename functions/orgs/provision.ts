/** The org as onboarding knows it. */
export interface OnboardedOrg {
  id: string;
  org_slug: string;
  name: string;
  plan: string;
}

/**
 * The BigQuery side of onboarding: the org's dataset and tables. It runs after the
 * Postgres rows are committed and must be idempotent — a failed onboarding is finished
 * by calling onboarding again, which calls this again.
 */
export interface AnalyticsProvisioner {
  provision(org: OnboardedOrg, signal: AbortSignal): Promise<void>;
}

let provisioner: AnalyticsProvisioner = {
  // Seam: the BigQuery provisioner is plugged in by the analytics work; until then
  // onboarding completes with Postgres alone.
  provision: async () => undefined,
};

export function setAnalyticsProvisioner(next: AnalyticsProvisioner): void {
  provisioner = next;
}

export function analyticsProvisioner(): AnalyticsProvisioner {
  return provisioner;
}
