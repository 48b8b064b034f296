/** zod-parsed environment, parsed once, failing fast with every bad variable named. */
export { ConfigError } from './ConfigError.js';
export { FUNCTION_NAMES, isFunctionName, type FunctionName } from './functionNames.js';
export { DEFAULT_SAFETY_MARGIN_MS, DEFAULT_SHUTDOWN_DRAIN_MS } from './defaults.js';
export { parseEnv, envInt, envBool, envString, type Env } from './parseEnv.js';
export {
  POOL_MAX_CEILING,
  parseRuntimeConfig,
  resetRuntimeConfig,
  runtimeConfig,
  runtimeConfigSchema,
  type RuntimeConfig,
} from './runtimeConfig.js';
