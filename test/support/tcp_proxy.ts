// A TCP proxy the test owns, between a server and PostgreSQL at 127.0.0.1: the way to inject
// database faults without touching the shared cluster. `cut` drops every connection and refuses new
// ones (the database is gone); `stall` keeps connections open but forwards nothing (a hung database
// or a black-holed network); `restore` forwards again; `retarget` sends new connections to another
// port and drops the current ones (a failover endpoint whose address moved to the new primary).
import { once } from 'node:events';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

export type ProxyMode = 'open' | 'cut' | 'stall';

export interface TcpProxy {
  port: number;
  mode: ProxyMode;
  /** Connections accepted so far. */
  accepted: number;
  cut(): void;
  stall(): void;
  restore(): void;
  retarget(port: number): void;
  close(): Promise<void>;
}

interface Pair {
  client: Socket;
  upstream: Socket | undefined;
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  if (target.host !== '127.0.0.1' && target.host !== 'localhost') throw new Error('the proxy only forwards to 127.0.0.1');
  const pairs = new Set<Pair>();
  let mode: ProxyMode = 'open';
  let accepted = 0;
  let targetPort = target.port;

  function drop(pair: Pair): void {
    pair.client.destroy();
    pair.upstream?.destroy();
    pairs.delete(pair);
  }

  function connectUpstream(pair: Pair): void {
    const upstream = createConnection({ host: '127.0.0.1', port: targetPort });
    pair.upstream = upstream;
    upstream.on('error', () => drop(pair));
    upstream.on('close', () => drop(pair));
    pair.client.pipe(upstream);
    upstream.pipe(pair.client);
  }

  const server: Server = createServer((client) => {
    accepted += 1;
    const pair: Pair = { client, upstream: undefined };
    client.on('error', () => drop(pair));
    client.on('close', () => drop(pair));
    if (mode === 'cut') {
      client.destroy();
      return;
    }
    pairs.add(pair);
    if (mode === 'stall') {
      // Accepted, then silence: the connection attempt hangs like a black-holed network.
      client.pause();
      return;
    }
    connectUpstream(pair);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');

  return {
    port: (server.address() as AddressInfo).port,
    get mode() {
      return mode;
    },
    get accepted() {
      return accepted;
    },
    cut() {
      mode = 'cut';
      for (const pair of [...pairs]) drop(pair);
    },
    stall() {
      mode = 'stall';
      for (const pair of pairs) {
        pair.client.unpipe();
        pair.upstream?.unpipe();
        pair.client.pause();
        pair.upstream?.pause();
      }
    },
    restore() {
      const wasStalled = mode === 'stall';
      mode = 'open';
      for (const pair of [...pairs]) {
        if (!pair.upstream) {
          pair.client.resume();
          connectUpstream(pair);
        } else if (wasStalled) {
          pair.client.pipe(pair.upstream);
          pair.upstream.pipe(pair.client);
          pair.client.resume();
          pair.upstream.resume();
        }
      }
    },
    retarget(port: number) {
      targetPort = port;
      for (const pair of [...pairs]) drop(pair);
    },
    async close() {
      for (const pair of [...pairs]) drop(pair);
      server.close();
      await once(server, 'close').catch(() => undefined);
    },
  };
}
