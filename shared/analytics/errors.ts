/**
 * An existing dataset or table differs from its definition in a way that cannot be patched
 * (partitioning, a column's type, a REQUIRED column to add, the dataset's location). An
 * operator has to migrate it; retrying will not help.
 */
export class SchemaDriftError extends Error {
  override readonly name = 'SchemaDriftError';
  /** The resource, e.g. `org_acme.llm_usage_daily`. */
  readonly resource: string;
  /** One sentence per difference. */
  readonly problems: readonly string[];

  constructor(resource: string, problems: readonly string[]) {
    super(`${resource} differs from its definition: ${problems.join('; ')}`);
    this.resource = resource;
    this.problems = problems;
  }
}
