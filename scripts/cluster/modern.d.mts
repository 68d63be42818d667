// Types for scripts/cluster/modern.mjs, so TypeScript tests can import it.

/** One standalone modern server (HTTP only: no TCP, no interserver port). */
export interface ModernServer {
  index: number;
  httpPort: number;
  /** `http://127.0.0.1:<httpPort>/default`, no credentials. */
  url: string;
  pid: number | null;
}

/** The engine package the servers run. */
export interface ModernEngine {
  name: 'modern';
  package: '@chdb/lib-linux-x64-gnu';
  /** The npm version (26.7.3-stable.1 reports `SELECT version()` = 26.7.2.1). */
  version: string;
}

/** What `start()` returns and `<dir>/state.json` holds. */
export interface ModernInfo {
  engine: ModernEngine;
  dir: string;
  base: number;
  size: number;
  /** One `http://127.0.0.1:<httpPort>/default` per server, in index order. */
  urls: string[];
  servers: ModernServer[];
}

export interface ModernStatus {
  engine: ModernEngine;
  dir: string;
  /** Every server is up. */
  running: boolean;
  /** Some, not all, are up. */
  partial: boolean;
  servers: Array<ModernServer & { alive: boolean; frozen: boolean }>;
}

export interface ModernLease {
  cluster: ModernInfo;
  /** This call started the servers (none was running). */
  startedHere: boolean;
  release(): Promise<boolean>;
}

export const CHDB_PACKAGE: '@chdb/lib-linux-x64-gnu';
export const CHDB_VERSION: string;
/** Password of the `colonnade` user (the `default` user has none); the same as on 18.16. */
export const PASSWORD: 's3cret:p@ss';
export const UNICODE_USER: 'unicode';
export const UNICODE_PASSWORD: 'пароль-ü';

/** Folder, base port, size and state file, from the env (or the folder's state.json). */
export function settings(layout?: { base: number; size: number }): { dir: string; base: number; size: number; stateFile: string };
/**
 * Installs the engine into the cache (npm) and builds its launcher (cc) when missing.
 * @example const { lib } = await ensureEngine();
 */
export function ensureEngine(): Promise<{ lib: string; launcher: string; version: string }>;
/**
 * Installs the engine if needed, starts every server not running, waits for each `/ping`. Idempotent.
 * @example const { urls } = await start();
 */
export function start(): Promise<ModernInfo>;
/**
 * `start()` plus a lease for a test run: `release()` stops the servers only if a lease
 * holder started them and no other live holder remains.
 * @example const lease = await acquire(); try { ... } finally { await lease.release(); }
 */
export function acquire(): Promise<ModernLease>;
/** Stops the recorded servers; data is kept. @example await stop(); */
export function stop(): Promise<void>;
/** `stop()`, then deletes the cluster folder (the engine cache stays). @example await clean(); */
export function clean(): Promise<void>;
/** What runs, by recorded pid. @example (await status()).running */
export function status(): Promise<ModernStatus>;
/** SIGKILL; resolves once its port refuses connections. @example await killServer(1); */
export function killServer(index: number): Promise<void>;
/** SIGSTOP; resolves once the kernel shows it stopped. @example await freezeServer(0); */
export function freezeServer(index: number): Promise<void>;
/** SIGCONT after `freezeServer`. @example await resumeServer(0); */
export function resumeServer(index: number): Promise<void>;
/** Graceful stop of one server (SIGTERM). @example await stopServer(0); */
export function stopServer(index: number): Promise<void>;
/** Starts one server again (same config and data); resolves on `/ping`. @example await startServer(1); */
export function startServer(index: number): Promise<Omit<ModernServer, 'pid'> & { pid: number }>;
/** The CLI, given the arguments without `--engine modern`. @example await main(['status']); */
export function main(argv: string[]): Promise<void>;
