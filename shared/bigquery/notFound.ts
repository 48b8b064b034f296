/** BigQuery's answer for a dataset or table that does not exist (yet): an org still onboarding, a table not created by its first run. */
export function isNotFound(error: unknown): boolean {
  const e = error as { code?: number; errors?: { reason?: string }[] } | undefined;
  return e?.code === 404 || e?.errors?.[0]?.reason === 'notFound';
}
