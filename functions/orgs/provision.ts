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
  // Seam: `index.ts` plugs in the BigQuery provisioner at load, before the first request;
  // this no-op only stands until then (tests plug in their own).
  provision: async () => undefined,
};

export function setAnalyticsProvisioner(next: AnalyticsProvisioner): void {
  provisioner = next;
}

export function analyticsProvisioner(): AnalyticsProvisioner {
  return provisioner;
}
