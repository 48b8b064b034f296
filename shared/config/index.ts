/** The environment, parsed once, failing fast with every bad variable named. */
export { ConfigError } from './ConfigError.js';
export { FUNCTION_NAMES, isFunctionName, type FunctionName } from './functionNames.js';
export { DEFAULT_SAFETY_MARGIN_MS, DEFAULT_SHUTDOWN_DRAIN_MS } from './defaults.js';
export {
  parseEnv,
  envBool,
  envEnum,
  envInt,
  envString,
  envText,
  envTextOr,
  envUrl,
  optional,
  type Env,
  type EnvCheck,
  type EnvResult,
  type EnvShape,
  type EnvValues,
  type EnvVar,
} from './parseEnv.js';
export {
  POOL_MAX_CEILING,
  parseRuntimeConfig,
  resetRuntimeConfig,
  runtimeConfig,
  runtimeEnv,
  type RuntimeConfig,
} from './runtimeConfig.js';
