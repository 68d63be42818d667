/**
 * `observer(options)`: a child spec that serves a live page, Prometheus metrics and a JSON
 * snapshot of the tree it is started in. Its actor owns an HTTP server bound to loopback;
 * a failure of that server crashes the actor, so its supervisor restarts it alone.
 *
 *   start(): listen ──▶ serving ──(server error)──▶ error (the supervisor restarts it)
 *                         └──(stop)──▶ server closed, collector detached
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import { createActor, fromCallback, setup, type AnyActorRef } from 'xstate';
import { ConfigError, MAX_TIMER_MS, shown } from '../clickhouse/index.js';
import type { ChildSpec, ChildSpecSource, StartContext } from '../otp/index.js';
import { Collector } from './collector.js';
import { renderMetrics } from './metrics.js';
import { observerPage } from './page.js';

/**
 * Options of `observer()`.
 *
 * @example
 * const options: ObserverOptions = { port: 9464, token: process.env.OBSERVER_TOKEN };
 */
export interface ObserverOptions {
  /** TCP port; `0` picks a free one (read it from `url`). Default 9464. */
  readonly port?: number;
  /** Address to bind; default `'127.0.0.1'` (loopback only). */
  readonly host?: string;
  /** When set, every request needs `Authorization: Bearer <token>` (or `?token=` on the page's URL, for a browser). */
  readonly token?: string;
  /** Milliseconds between the page's updates; default 500. */
  readonly interval?: number;
  /** The child's id in its supervisor; default `'observer'`. */
  readonly id?: string;
}

/**
 * What `observer()` returns: a child for a supervisor's list, and the URL once it runs.
 *
 * @example
 * const obs: Observer = observer({ port: 0 });
 * await startSupervisor([MyClickHouse, obs]);
 * console.log(obs.url); // http://127.0.0.1:41234/
 */
export interface Observer extends ChildSpecSource {
  /** `http://host:port/` of the running observer; undefined while it is not running. */
  readonly url: string | undefined;
  childSpec(): ChildSpec;
}

const KEYS = new Set(['port', 'host', 'token', 'interval', 'id']);

function resolve(options: ObserverOptions): Required<Omit<ObserverOptions, 'token'>> & { token: string | undefined } {
  if (options === null || typeof options !== 'object') throw new ConfigError('observer(options): options must be an object');
  const problems: string[] = [];
  for (const key of Object.keys(options)) if (!KEYS.has(key)) problems.push(`unknown key '${key}' (expected one of ${[...KEYS].join(', ')})`);
  const { port = 9464, host = '127.0.0.1', token, interval = 500, id = 'observer' } = options;
  if (!Number.isInteger(port) || port < 0 || port > 65535) problems.push(`port: expected an integer 0..65535, got ${shown(port)}`);
  if (typeof host !== 'string' || host === '') problems.push('host: expected a non-empty string');
  if (token !== undefined && (typeof token !== 'string' || token === '')) problems.push('token: expected a non-empty string');
  if (typeof interval !== 'number' || !(interval >= 50 && interval <= MAX_TIMER_MS)) problems.push(`interval: expected a number of ms from 50 to ${MAX_TIMER_MS}, got ${shown(interval)}`);
  if (typeof id !== 'string' || id === '') problems.push('id: expected a non-empty string');
  if (problems.length > 0) throw new ConfigError(`observer(options): ${problems.join('; ')}`);
  return { port, host, token, interval, id };
}

/**
 * The observer as a child spec source: put it in the children of `startSupervisor` and it
 * watches every pool and supervisor of that tree. Serves `/` (a live page), `/metrics`
 * (Prometheus text) and `/state.json`, on 127.0.0.1 unless told otherwise. Options are
 * checked at once (`ConfigError`).
 *
 * @example
 * const obs = observer({ port: 9464 });
 * const app = await startSupervisor([MyClickHouse, obs]);
 * console.log(`open ${obs.url}`); // http://127.0.0.1:9464/
 */
export function observer(options: ObserverOptions = {}): Observer {
  const opts = resolve(options);
  let url: string | undefined;
  const spec: ChildSpec = {
    id: opts.id,
    shutdown: 2_000,
    start: async (context?: StartContext) => {
      const root = context?.root;
      if (root === undefined) throw new ConfigError('observer: start it under a supervisor (startSupervisor([pool, observer()]))');
      const collector = new Collector(root);
      let server: Server;
      try {
        server = await listen(opts, collector);
      } catch (error) {
        collector.close();
        throw error;
      }
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : opts.port;
      const host = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
      const own = `http://${host}:${port}/`;
      url = own;
      let closed = false;
      const close = (): void => {
        if (closed) return;
        closed = true;
        if (url === own) url = undefined;
        collector.close();
        server.closeAllConnections();
        server.close();
      };
      const actor = createActor(observerMachine, {
        id: opts.id,
        input: {
          url: own,
          serve: (crash: (error: unknown) => void) => {
            server.on('error', crash);
            return close;
          },
        },
      });
      // However the actor ends (stopped, or crashed: xstate does not stop an errored
      // machine's invoked callback), the server is closed with it.
      actor.subscribe({ error: close, complete: close });
      return actor as AnyActorRef;
    },
  };
  return {
    get url() {
      return url;
    },
    childSpec: () => spec,
  };
}

interface MachineInput {
  readonly url: string;
  /** Starts watching the server for failures; returns the cleanup. */
  readonly serve: (crash: (error: unknown) => void) => () => void;
}

const observerMachine = setup({
  types: { input: {} as MachineInput, context: {} as { url: string; serve: MachineInput['serve'] }, events: {} as { type: 'crash'; error: unknown } },
  actors: {
    serve: fromCallback<{ type: 'crash'; error: unknown }, MachineInput['serve']>(({ input, sendBack }) => input((error) => sendBack({ type: 'crash', error }))),
  },
}).createMachine({
  id: 'observer',
  context: ({ input }) => ({ url: input.url, serve: input.serve }),
  initial: 'serving',
  states: {
    serving: {
      invoke: { src: 'serve', input: ({ context }: { context: { serve: MachineInput['serve'] } }) => context.serve },
      on: {
        crash: {
          actions: ({ event }) => {
            throw event.error instanceof Error ? event.error : new Error(String(event.error));
          },
        },
      },
    },
  },
});

function listen(opts: ReturnType<typeof resolve>, collector: Collector): Promise<Server> {
  const clients = new Set<ServerResponse>();
  let timer: NodeJS.Timeout | undefined;
  const tick = (): void => {
    if (clients.size === 0) return;
    const data = `data: ${JSON.stringify(collector.snapshot())}\n\n`;
    for (const res of clients) res.write(data);
  };
  const server = createServer((req, res) => {
    try {
      handle(req, res);
    } catch (error) {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(`observer error: ${error instanceof Error ? error.message : String(error)}\n`);
    }
  });
  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const path = new URL(req.url ?? '/', 'http://observer').pathname;
    if (!authorized(req, opts.token)) {
      res.writeHead(401, { 'content-type': 'text/plain', 'www-authenticate': 'Bearer' });
      res.end('a bearer token is required\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' });
      res.end();
      return;
    }
    const common = { 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' };
    switch (path) {
      case '/':
        res.writeHead(200, { ...common, 'content-type': 'text/html; charset=utf-8', 'content-security-policy': "default-src 'self'; style-src 'unsafe-inline'; script-src 'unsafe-inline'" });
        res.end(observerPage());
        return;
      case '/metrics':
        res.writeHead(200, { ...common, 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
        res.end(renderMetrics(collector.snapshot(), collector.queryCounters()));
        return;
      case '/state.json':
        res.writeHead(200, { ...common, 'content-type': 'application/json; charset=utf-8' });
        res.end(JSON.stringify(collector.snapshot()));
        return;
      case '/events':
        res.writeHead(200, { ...common, 'content-type': 'text/event-stream; charset=utf-8', connection: 'keep-alive' });
        res.write(`retry: 1000\ndata: ${JSON.stringify(collector.snapshot())}\n\n`);
        clients.add(res);
        timer ??= setInterval(tick, opts.interval);
        req.on('close', () => {
          clients.delete(res);
          if (clients.size === 0 && timer !== undefined) {
            clearInterval(timer);
            timer = undefined;
          }
        });
        return;
      default:
        res.writeHead(404, { 'content-type': 'text/plain' });
        res.end('not found: try /, /metrics or /state.json\n');
    }
  };
  server.on('close', () => {
    if (timer !== undefined) clearInterval(timer);
    for (const res of clients) res.end();
    clients.clear();
  });
  return new Promise((resolvePromise, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolvePromise(server);
    });
  });
}

function authorized(req: IncomingMessage, token: string | undefined): boolean {
  if (token === undefined) return true;
  const header = req.headers.authorization;
  const given = header?.startsWith('Bearer ') ? header.slice(7) : new URL(req.url ?? '/', 'http://observer').searchParams.get('token') ?? '';
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}
