import { connect, createServer, type Socket } from 'node:net';

export interface TcpRelay {
  /** `address:port` the relay listens on (IPv6 in brackets). */
  host: string;
  /** Stops listening and destroys every connection it carries, so the far side sees the peer gone at once. */
  close(): Promise<void>;
}

/**
 * A byte-for-byte TCP relay: every connection accepted on `listenAddress` (a free port) is
 * piped to `target` (`host:port`). The tests use it where something must be reached on an
 * address its server does not listen on (a push endpoint on loopback, for an emulator in
 * another container), and to take a server away from a client without stopping the server
 * (closing the relay).
 */
export async function startTcpRelay({ listenAddress, target }: { listenAddress: string; target: string }): Promise<TcpRelay> {
  const { hostname, port } = new URL(`tcp://${target}`);
  const targetHost = hostname.replace(/^\[(.*)\]$/, '$1');
  const open = new Set<Socket>();
  const track = (socket: Socket): void => {
    open.add(socket);
    socket.once('close', () => open.delete(socket));
  };

  const server = createServer((inbound) => {
    const outbound = connect({ host: targetHost, port: Number(port) });
    track(inbound);
    track(outbound);
    // Either side failing or ending ends the other: the relay adds no state of its own.
    inbound.on('error', () => outbound.destroy());
    outbound.on('error', () => inbound.destroy());
    inbound.pipe(outbound).on('close', () => inbound.destroy());
    outbound.pipe(inbound).on('close', () => outbound.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, listenAddress, () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the relay has no TCP address');
  const hostPart = address.family === 'IPv6' ? `[${address.address}]` : address.address;

  return {
    host: `${hostPart}:${address.port}`,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of open) socket.destroy();
      await closed;
    },
  };
}
