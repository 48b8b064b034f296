/**
 * The Pub/Sub emulator cannot start on this machine because something is not installed.
 * `install` says exactly what to install; the local stack prints it and runs without
 * Pub/Sub, tests fail with it.
 */
export class EmulatorUnavailableError extends Error {
  override readonly name = 'EmulatorUnavailableError';
  /** What to install, as a sentence a newcomer can act on. */
  readonly install: string;

  constructor(message: string, install: string, options?: { cause?: unknown }) {
    super(`${message}. ${install}`, options);
    this.install = install;
  }
}

/** The emulator was found but did not start, or did not become ready in time. */
export class EmulatorStartError extends Error {
  override readonly name = 'EmulatorStartError';
  /** The last lines the emulator printed. */
  readonly output: string[];

  constructor(message: string, output: string[], options?: { cause?: unknown }) {
    super(output.length === 0 ? message : `${message}:\n${output.join('\n')}`, options);
    this.output = output;
  }
}

/** The emulator's REST API answered a request with an error status. */
export class EmulatorRequestError extends Error {
  override readonly name = 'EmulatorRequestError';
  readonly status: number;

  constructor(method: string, path: string, status: number, body: string) {
    super(`Pub/Sub emulator: ${method} ${path} answered ${status}: ${body.slice(0, 500)}`);
    this.status = status;
  }
}
