/** The module-scope lazy client cache (guarantee 1). */
export {
  lazyClient,
  clientStats,
  closeClients,
  resetClients,
  unregisterClient,
  type ClientGetter,
  type ClientState,
  type ClientStats,
  type LazyClientOptions,
} from './registry.js';
