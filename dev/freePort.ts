import { createServer } from 'node:net';

/**
 * Finds a free TCP port on loopback: binds port 0, reads the port the kernel chose, and
 * closes. The one copy for the local stack (PostgreSQL, the Pub/Sub emulator, function
 * processes) and the tests. Unref'd, so a caller that never awaits it keeps no process alive.
 */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}
