// Three fake ClickHouse servers behind the pool's ConnectionIO seam, for definePool's unit
// tests: each answers by its `behaviour` (replaceable per test), its `/ping` by `probeOk`;
// `sent` lists every request a connection performed, `opened()` how many transports opened.
import { TransportError } from '../../src/clickhouse/errors.js';
import type { QueryOutcome } from '../../src/clickhouse/query-control.js';
import { openTransport } from '../../src/clickhouse/transport.js';
import type { PreparedRequest, ServerConfig } from '../../src/clickhouse/types.js';

export type Behaviour = (request: PreparedRequest) => Promise<unknown>;

/** Servers 10.0.0.1 to 10.0.0.3 (index 0 to 2): a select answers `[{ x: 1 }]`, a query `'ok'`. */
export function fakeServers() {
  const sent: Array<{ server: number; body: string }> = [];
  const behaviour: Behaviour[] = [0, 1, 2].map(() => async (req) => (req.type === 'select' ? [{ x: 1 }] : req.type === 'query' ? 'ok' : undefined));
  const probeOk = [true, true, true];
  const index = (server: ServerConfig) => Number(server.host.split('.').pop()) - 1;
  let opened = 0;
  const io = {
    open: (server: ServerConfig) => {
      opened++;
      return openTransport(server);
    },
    perform: (_t: unknown, server: ServerConfig, request: PreparedRequest) => {
      sent.push({ server: index(server), body: request.body });
      return behaviour[index(server)]!(request);
    },
    probe: async (_t: unknown, server: ServerConfig) => {
      if (!probeOk[index(server)]) throw new TransportError('connect ECONNREFUSED', false);
    },
    // A fake server never runs a call its connection crashed on.
    outcome: async (): Promise<QueryOutcome> => 'absent',
  };
  return { sent, behaviour, probeOk, io, opened: () => opened };
}
