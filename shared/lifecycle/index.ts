/** Graceful shutdown (guarantee 5): drain, flush, close, exit — even under functions-framework. */
export {
  inFlightCount,
  installShutdownHandlers,
  isShuttingDown,
  onDrainTimeout,
  onShutdown,
  resetLifecycle,
  shutdown,
  trackInvocation,
  type ShutdownHook,
  type ShutdownOptions,
} from './shutdown.js';
