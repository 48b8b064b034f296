/**
 * functions-framework 5 has no `--host`: it calls `server.listen(port)`, which binds every
 * interface. Locally a function must listen on loopback only (PRODUCT.md, "Local stack"), so
 * the child is started with this module preloaded (`--import`), which gives every
 * `listen` that names no host `127.0.0.1`. It is inlined as a `data:` URL so the
 * platform's command line stays `functions-framework --target=NAME` plus one Node flag,
 * with no file to transpile; production never loads it.
 */
const LISTEN_ON_LOOPBACK = `import net from 'node:net';
const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function listenOnLoopback(...args) {
  const [first, second] = args;
  if (first !== null && typeof first === 'object') {
    if (first.host === undefined && first.path === undefined) args[0] = { ...first, host: '127.0.0.1' };
  } else if (args.length === 0 || typeof first === 'function') {
    args.unshift(0, '127.0.0.1');
  } else if ((typeof first === 'number' || /^[0-9]+$/.test(String(first))) && typeof second !== 'string') {
    args.splice(1, 0, '127.0.0.1');
  }
  return listen.apply(this, args);
};`;

/** The Node flag that preloads {@link LISTEN_ON_LOOPBACK}. */
export const LOOPBACK_ONLY_FLAG = `--import=data:text/javascript,${encodeURIComponent(LISTEN_ON_LOOPBACK)}`;
