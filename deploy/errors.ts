/** The deploy manifest does not have the right shape; lists every problem at once. */
export class ManifestError extends Error {
  override readonly name = 'ManifestError';
  readonly problems: string[];

  constructor(problems: string[], options?: { cause?: unknown }) {
    super(`Invalid deploy manifest: ${problems.join('; ')}`, options);
    this.problems = problems;
  }
}

/** A function could not be bundled (missing entry, esbuild error, undeclared package). */
export class BuildError extends Error {
  override readonly name = 'BuildError';

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}
