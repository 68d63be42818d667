// A local HTTP server standing in for ClickHouse in the protocol tests (http, perform): it
// records what it was sent and answers with `reply`.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client } from 'undici';
import { parseConnectionString } from '../../src/clickhouse/connection-string.js';
import { forgetServerInfo } from '../../src/clickhouse/server-info.js';
import type { ServerConfig } from '../../src/clickhouse/types.js';

export interface Seen { url: string; headers: IncomingMessage['headers']; body: string }
export type Reply = (req: Seen, res: ServerResponse) => void;

export interface FakeServer {
  readonly seen: Seen[];
  readonly sockets: Set<unknown>;
  /** The server's connection string. */
  readonly url: string;
  close(): Promise<void>;
}

/** By default the `colonnade` user with its password, database `analytics`, one setting. */
const credentialed = (port: number): string => `http://colonnade:s3cret%3Ap%40ss@127.0.0.1:${port}/analytics?max_threads=3`;

export async function fakeServer(reply: Reply, url: (port: number) => string = credentialed): Promise<FakeServer> {
  const seen: Seen[] = [];
  const sockets = new Set<unknown>();
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      const s = { url: req.url ?? '', headers: req.headers, body };
      seen.push(s);
      reply(s, res);
    });
  });
  server.on('connection', (socket) => sockets.add(socket));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = url((server.address() as AddressInfo).port);
  // What the client keeps of a server (its version, per origin and user) must not pass to
  // the next fake server the system gives the same port: a test told "26.7" by one fake
  // would otherwise ask the next one, meant as 18.16, for RowBinary.
  forgetServerInfo(parseConnectionString(address));
  return {
    seen, sockets,
    url: address,
    close: () => new Promise<void>((r) => {
      forgetServerInfo(parseConnectionString(address));
      server.closeAllConnections();
      server.close(() => r());
    }),
  };
}

/** Runs `fn` with a Client to a fresh fake server; closes both afterwards. */
export async function withFakeServer(
  reply: Reply,
  fn: (client: Client, server: ServerConfig, fake: FakeServer) => Promise<void>,
  url?: (port: number) => string,
): Promise<void> {
  const fake = await fakeServer(reply, url);
  const server = parseConnectionString(fake.url);
  const client = new Client(server.origin);
  try {
    await fn(client, server, fake);
  } finally {
    await client.close();
    await fake.close();
  }
}
