/** Thrown at start-up when the environment is invalid; names every bad variable at once. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly problems: { variable: string; message: string }[];

  constructor(problems: { variable: string; message: string }[]) {
    super(
      `Invalid configuration: ${problems.map((p) => `environment variable ${p.variable} ${p.message}`).join('; ')}`,
    );
    this.problems = problems;
  }
}
