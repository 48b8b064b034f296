/**
 * Defaults of runtime settings that more than one module needs, each set here once: the
 * config schema defaults to them, and the code that also runs without a parsed config
 * (a `Deadline` built by hand, `shutdown()` called directly, the deploy manifest) reads
 * the same constant.
 */

/** Time kept back from the platform's timeout to write the answer and clean up. */
export const DEFAULT_SAFETY_MARGIN_MS = 1000;

/**
 * After SIGTERM, how long in-flight invocations may run before their deadlines are
 * aborted. The platform kills the instance 10 s after SIGTERM; flushes and closing
 * clients need the rest.
 */
export const DEFAULT_SHUTDOWN_DRAIN_MS = 6000;
