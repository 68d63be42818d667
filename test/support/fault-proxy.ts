// A TCP proxy for tests that puts network faults between a client and a server: delays,
// silence, resets at chosen moments, a FIN held back. It binds loopback only. The mode is
// read at every event (accept, each chunk, each end), so `setMode` takes effect at once on
// new connections and, from their next chunk on, on open ones. A connection accepted in
// `blackhole` never gets a target socket: it stays silent whatever the mode becomes.
import { createServer, connect as netConnect, type AddressInfo, type Server, type Socket } from 'node:net';

/**
 * What the proxy does to traffic.
 *
 * - `pass`: forwards both ways unchanged.
 * - `latency`: waits `ms` before forwarding each chunk, in each direction (order kept); with
 *   `firstByteOnly`, waits `ms` once per exchange, before the first response byte.
 * - `blackhole`: accepts and reads, never forwards, never answers, never closes.
 * - `reset-connect`: resets a new connection as soon as it is accepted (the client sees
 *   ECONNRESET); switching to it resets the open ones at once, as a killed server would.
 * - `reset-after-request`: forwards the request, resets the client before any response byte.
 * - `reset-mid-response`: forwards the first `bytes` bytes of each response, then resets.
 * - `slow-close`: forwards everything, but when the server closes its side, holds the
 *   client's socket open without FIN for `ms` ms.
 *
 * @example
 * const mode: FaultMode = { mode: 'reset-mid-response', bytes: 512 };
 * proxy.setMode(mode);
 */
export type FaultMode =
  | { readonly mode: 'pass' }
  | { readonly mode: 'latency'; readonly ms: number; readonly firstByteOnly?: boolean }
  | { readonly mode: 'blackhole' }
  | { readonly mode: 'reset-connect' }
  | { readonly mode: 'reset-after-request' }
  | { readonly mode: 'reset-mid-response'; readonly bytes: number }
  | { readonly mode: 'slow-close'; readonly ms: number };

/**
 * The name of a mode.
 *
 * @example
 * const name: FaultModeName = 'blackhole';
 */
export type FaultModeName = FaultMode['mode'];

/**
 * Counters since the proxy started.
 *
 * @example
 * const { accepted, open, reset }: FaultProxyStats = proxy.stats();
 */
export interface FaultProxyStats {
  /** Client connections accepted. */
  readonly accepted: number;
  /** Client connections open now. */
  readonly open: number;
  /** Client connections the proxy reset (RST), whatever the mode that did it. */
  readonly reset: number;
  /** Bytes read from clients. */
  readonly bytesFromClients: number;
  /** Bytes written to the target. */
  readonly bytesToTarget: number;
  /** Bytes read from the target. */
  readonly bytesFromTarget: number;
  /** Bytes written to clients. */
  readonly bytesToClients: number;
}

/**
 * Where the proxy forwards, and how it starts.
 *
 * @example
 * const options: FaultProxyOptions = { target: 'http://default@127.0.0.1:8123/default', mode: { mode: 'pass' } };
 */
export interface FaultProxyOptions {
  /** A connection string (its credentials and path are kept for `url()`) or a host and port. */
  readonly target: string | { readonly host: string; readonly port: number };
  /** Port to listen on, on 127.0.0.1. Default 0: a free one. */
  readonly port?: number;
  /** Initial mode. Default `pass`. */
  readonly mode?: FaultMode;
}

/**
 * A running fault proxy.
 *
 * @example
 * const proxy = await startFaultProxy({ target: 'http://127.0.0.1:8123/default' });
 * proxy.setMode({ mode: 'blackhole' });
 * await proxy.close();
 */
export interface FaultProxy {
  /** The port it listens on, on 127.0.0.1. */
  readonly port: number;
  /** The mode now. */
  readonly mode: FaultMode;
  /** Switches the mode; a bare name takes that mode's defaults (latency 200 ms, 64 bytes, 1000 ms). */
  setMode(mode: FaultMode | FaultModeName): void;
  /** The target's connection string with the proxy's host and port (`overrides` replace parts of it). */
  url(overrides?: { readonly user?: string; readonly password?: string; readonly database?: string }): string;
  stats(): FaultProxyStats;
  /** Destroys every client and target socket it holds and stops listening. Idempotent. */
  close(): Promise<void>;
}

const DEFAULTS: { readonly [K in FaultModeName]: Extract<FaultMode, { mode: K }> } = {
  'pass': { mode: 'pass' },
  'latency': { mode: 'latency', ms: 200 },
  'blackhole': { mode: 'blackhole' },
  'reset-connect': { mode: 'reset-connect' },
  'reset-after-request': { mode: 'reset-after-request' },
  'reset-mid-response': { mode: 'reset-mid-response', bytes: 64 },
  'slow-close': { mode: 'slow-close', ms: 1_000 },
};

// A reset that follows written bytes waits this long, so the client reads them before the RST.
const RESET_AFTER_WRITE_MS = 50;

/**
 * Starts a fault proxy on 127.0.0.1 in front of `target`.
 *
 * @example
 * const proxy = await startFaultProxy({ target: 'http://colonnade:s3cret%3Ap%40ss@127.0.0.1:18123/default' });
 * const conn = connect(proxy.url());      // same user, password and database, through the proxy
 * await conn.select('SELECT 1');           // pass: works
 * proxy.setMode({ mode: 'reset-connect' });
 * await conn.select('SELECT 1').catch((e) => e.code); // 'TRANSPORT' (ECONNRESET)
 * await conn.close(); await proxy.close();
 */
export async function startFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  const target = typeof options.target === 'string' ? new URL(options.target) : undefined;
  const host = target ? target.hostname : (options.target as { host: string }).host;
  const targetPort = target ? Number(target.port || (target.protocol === 'https:' ? 443 : 80)) : (options.target as { port: number }).port;
  let mode: FaultMode = checkMode(options.mode ?? DEFAULTS.pass);
  const links = new Set<Link>();
  const counters = { accepted: 0, reset: 0, bytesFromClients: 0, bytesToTarget: 0, bytesFromTarget: 0, bytesToClients: 0 };

  const server: Server = createServer({ allowHalfOpen: true, pauseOnConnect: false }, (client) => {
    counters.accepted++;
    new Link(client, links, () => mode, counters, () => netConnect({ host, port: targetPort, allowHalfOpen: true }));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => { server.off('error', reject); resolve(); });
  });
  const port = (server.address() as AddressInfo).port;
  let closing: Promise<void> | undefined;

  return {
    port,
    get mode() { return mode; },
    setMode(next) {
      mode = checkMode(typeof next === 'string' ? DEFAULTS[next] : next);
      for (const link of links) link.modeChanged();
    },
    url(overrides = {}) {
      const u = target ? new URL(target.href) : new URL('http://default@127.0.0.1/default');
      u.hostname = '127.0.0.1';
      u.port = String(port);
      if (overrides.user !== undefined) u.username = encodeURIComponent(overrides.user);
      if (overrides.password !== undefined) u.password = encodeURIComponent(overrides.password);
      if (overrides.database !== undefined) u.pathname = `/${encodeURIComponent(overrides.database)}`;
      return u.href;
    },
    stats: () => ({ ...counters, open: links.size }),
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const link of links) link.destroy();
      });
      return closing;
    },
  };
}

function checkMode(mode: FaultMode): FaultMode {
  const bad = (what: string): never => { throw new TypeError(`fault proxy: ${mode.mode}: ${what}`); };
  if (!(mode.mode in DEFAULTS)) bad('unknown mode');
  if ((mode.mode === 'latency' || mode.mode === 'slow-close') && !(Number.isFinite(mode.ms) && mode.ms >= 0)) bad('ms must be a number >= 0');
  if (mode.mode === 'reset-mid-response' && !(Number.isInteger(mode.bytes) && mode.bytes >= 0)) bad('bytes must be an integer >= 0');
  return mode;
}

type Counters = { -readonly [K in Exclude<keyof FaultProxyStats, 'open'>]: number };

/** Writes in order, each at its own time: a chunk never overtakes one queued before it. */
class Lane {
  readonly #items: Array<{ at: number; run: () => void }> = [];
  #timer: NodeJS.Timeout | undefined;

  push(delayMs: number, run: () => void): void {
    if (delayMs <= 0 && this.#items.length === 0) return run();
    const last = this.#items[this.#items.length - 1];
    this.#items.push({ at: Math.max(Date.now() + delayMs, last?.at ?? 0), run });
    if (!this.#timer) this.#schedule();
  }

  clear(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#items.length = 0;
  }

  #schedule(): void {
    const head = this.#items[0];
    if (!head) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      while (this.#items[0] && this.#items[0].at <= Date.now()) this.#items.shift()!.run();
      this.#schedule();
    }, Math.max(0, head.at - Date.now()));
  }
}

/** One client connection and, unless it was refused or blackholed at once, its target socket. */
class Link {
  readonly #client: Socket;
  readonly #mode: () => FaultMode;
  readonly #counters: Counters;
  readonly #links: Set<Link>;
  readonly #up = new Lane();
  readonly #down = new Lane();
  #target: Socket | undefined;
  #timers = new Set<NodeJS.Timeout>();
  // Response bytes since the client last sent something: one HTTP exchange, roughly.
  #responseBytes = 0;
  #awaitingFirstByte = false;
  #done = false;

  constructor(client: Socket, links: Set<Link>, mode: () => FaultMode, counters: Counters, dial: () => Socket) {
    this.#client = client;
    this.#links = links;
    links.add(this);
    this.#mode = mode;
    this.#counters = counters;
    client.on('error', () => this.destroy());
    client.on('close', () => this.destroy());
    const m = mode();
    if (m.mode === 'reset-connect') {
      this.reset();
      return;
    }
    client.on('data', (chunk: Buffer) => this.#fromClient(chunk));
    client.on('end', () => this.#clientEnded());
    if (m.mode === 'blackhole') return;
    this.#dial(dial);
  }

  modeChanged(): void {
    if (this.#mode().mode === 'reset-connect') this.reset();
  }

  reset(): void {
    if (this.#done) return;
    this.#counters.reset++;
    this.#client.resetAndDestroy();
    this.destroy();
  }

  destroy(): void {
    if (this.#done) return;
    this.#done = true;
    this.#up.clear();
    this.#down.clear();
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    this.#client.destroy();
    this.#target?.destroy();
    this.#links.delete(this);
  }

  #dial(dial: () => Socket): void {
    const target = dial();
    this.#target = target;
    // A target that refuses or drops is reported to the client as a reset, as a real hop would.
    target.on('error', () => this.reset());
    target.on('data', (chunk: Buffer) => this.#fromTarget(chunk));
    target.on('end', () => this.#targetEnded());
    target.on('close', () => { if (!this.#done && this.#client.writableEnded) this.destroy(); });
  }

  #fromClient(chunk: Buffer): void {
    this.#counters.bytesFromClients += chunk.length;
    const m = this.#mode();
    if (m.mode === 'blackhole') return;
    if (m.mode === 'reset-connect') return this.reset();
    this.#responseBytes = 0;
    this.#awaitingFirstByte = true;
    const delay = m.mode === 'latency' && !m.firstByteOnly ? m.ms : 0;
    this.#up.push(delay, () => {
      const target = this.#target;
      if (this.#done || !target || target.destroyed) return;
      this.#counters.bytesToTarget += chunk.length;
      if (!target.write(chunk)) {
        this.#client.pause();
        target.once('drain', () => this.#client.resume());
      }
    });
  }

  #fromTarget(chunk: Buffer): void {
    this.#counters.bytesFromTarget += chunk.length;
    const m = this.#mode();
    const first = this.#awaitingFirstByte;
    this.#awaitingFirstByte = false;
    switch (m.mode) {
      case 'blackhole':
        return;
      case 'reset-connect':
      case 'reset-after-request':
        return this.reset();
      case 'reset-mid-response': {
        const room = m.bytes - this.#responseBytes;
        if (room <= 0) return this.reset();
        if (chunk.length < room) break;
        this.#toClient(chunk.subarray(0, room), 0);
        this.#responseBytes += room;
        this.#target?.pause();
        this.#down.push(0, () => this.#later(RESET_AFTER_WRITE_MS, () => this.reset()));
        return;
      }
    }
    this.#responseBytes += chunk.length;
    const delay = m.mode === 'latency' && (!m.firstByteOnly || first) ? m.ms : 0;
    this.#toClient(chunk, delay);
  }

  #toClient(chunk: Buffer, delay: number): void {
    this.#down.push(delay, () => {
      if (this.#done) return;
      this.#counters.bytesToClients += chunk.length;
      if (!this.#client.write(chunk)) {
        this.#target?.pause();
        this.#client.once('drain', () => this.#target?.resume());
      }
    });
  }

  #clientEnded(): void {
    const m = this.#mode();
    if (m.mode === 'blackhole' || !this.#target) return;
    this.#up.push(m.mode === 'latency' && !m.firstByteOnly ? m.ms : 0, () => this.#target?.end());
  }

  #targetEnded(): void {
    const m = this.#mode();
    if (m.mode === 'blackhole') return;
    const delay = m.mode === 'slow-close' ? m.ms : m.mode === 'latency' && !m.firstByteOnly ? m.ms : 0;
    this.#down.push(delay, () => { if (!this.#done) this.#client.end(); });
  }

  #later(ms: number, run: () => void): void {
    const t = setTimeout(() => { this.#timers.delete(t); run(); }, ms);
    this.#timers.add(t);
  }
}
