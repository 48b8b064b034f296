import { execFileSync } from 'node:child_process';
import { connect } from 'node:net';
import { networkInterfaces } from 'node:os';

/**
 * The TCP addresses a process listens on, as an operator sees them with `ss -ltnp`
 * (e.g. `127.0.0.1:5432`, `[::]:8080`, `*:8080`).
 */
export function listeningAddresses(pid: number): string[] {
  const out = execFileSync('ss', ['-H', '-ltnp'], { encoding: 'utf8' });
  return out
    .split('\n')
    .filter((line) => line.includes(`pid=${pid},`))
    .map((line) => line.trim().split(/\s+/)[3] ?? '');
}

/** The local addresses with a TCP listener on `port` (whichever process holds it). */
export function listenersOnPort(port: number): string[] {
  const out = execFileSync('ss', ['-H', '-ltn'], { encoding: 'utf8' });
  return out
    .split('\n')
    .map((line) => line.trim().split(/\s+/)[3] ?? '')
    .filter((address) => address.endsWith(`:${port}`));
}

/** The machine's addresses other than loopback: what another host (or user) would connect to. */
export function nonLoopbackAddresses(): string[] {
  return Object.values(networkInterfaces())
    .flatMap((list) => list ?? [])
    .filter((a) => !a.internal && a.family === 'IPv4')
    .map((a) => a.address);
}

/** Whether a TCP connection to `host:port` is accepted. */
export async function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: 2000 });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(false));
  });
}
