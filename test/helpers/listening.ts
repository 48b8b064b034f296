import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { connect } from 'node:net';
import { networkInterfaces } from 'node:os';

/*
 * What an operator sees with `ss -ltn(p)`, read from the kernel's own tables
 * (`/proc/net/tcp`, `/proc/net/tcp6`, `/proc/<pid>/fd`): no tool needed, so the same checks
 * run where iproute2 is not installed (the node:20 image of the Cloud Build test step).
 */

interface TcpListener {
  /** `127.0.0.1:5432`, `0.0.0.0:8080`, `[::]:8080`. */
  address: string;
  /** The socket's inode: what `/proc/<pid>/fd/*` links to (`socket:[inode]`). */
  inode: string;
}

/** The state `/proc/net/tcp*` gives a listening socket. */
const TCP_LISTEN = '0A';

/** An address as `/proc/net/tcp*` writes it: 32-bit words in hex, each in the kernel's (little-endian) byte order. */
function decodeAddress(hex: string): string {
  const bytes = Buffer.from(hex, 'hex');
  for (let i = 0; i < bytes.length; i += 4) bytes.subarray(i, i + 4).reverse();
  if (bytes.length === 4) return bytes.join('.');
  const groups = Array.from({ length: 8 }, (_, i) => bytes.readUInt16BE(i * 2).toString(16));
  // The URL parser writes an IPv6 address in its canonical, compressed form.
  return new URL(`http://[${groups.join(':')}]/`).hostname;
}

function tcpListeners(): TcpListener[] {
  return ['/proc/net/tcp', '/proc/net/tcp6'].flatMap((table) =>
    readFileSync(table, 'utf8')
      .split('\n')
      .slice(1)
      .map((line) => line.trim().split(/\s+/))
      .filter((fields) => fields[3] === TCP_LISTEN)
      .map((fields) => {
        const [hexAddress = '', hexPort = ''] = (fields[1] ?? '').split(':');
        return { address: `${decodeAddress(hexAddress)}:${parseInt(hexPort, 16)}`, inode: fields[9] ?? '' };
      }),
  );
}

/**
 * The TCP addresses a process listens on, as an operator sees them with `ss -ltnp`
 * (e.g. `127.0.0.1:5432`, `0.0.0.0:8080`, `[::]:8080`).
 */
export function listeningAddresses(pid: number): string[] {
  const inodes = new Set(
    readdirSync(`/proc/${pid}/fd`).flatMap((fd) => {
      try {
        return [/^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`))?.[1] ?? ''];
      } catch {
        return []; // closed meanwhile
      }
    }),
  );
  return tcpListeners()
    .filter((listener) => inodes.has(listener.inode))
    .map((listener) => listener.address);
}

/** The local addresses with a TCP listener on `port` (whichever process holds it). */
export function listenersOnPort(port: number): string[] {
  return tcpListeners()
    .map((listener) => listener.address)
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
