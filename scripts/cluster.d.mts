// Types for scripts/cluster.mjs, so TypeScript tests can import it.

/** One ClickHouse server of the local cluster. */
export interface ClusterServer {
  index: number;
  httpPort: number;
  tcpPort: number;
  interserverPort: number;
  /** `http://127.0.0.1:<httpPort>/default`, no credentials. */
  url: string;
  pid: number | null;
}

/** What `start()` returns and `<dir>/state.json` holds. */
export interface ClusterInfo {
  dir: string;
  base: number;
  size: number;
  /** The cluster's name in `remote_servers`: `colonnade`. */
  cluster: string;
  /** One `http://127.0.0.1:<httpPort>/default` per server, in index order. */
  urls: string[];
  servers: ClusterServer[];
  zookeeper: { port: number; pid: number | null };
}

export interface ClusterStatus {
  dir: string;
  /** ZooKeeper and every server are up. */
  running: boolean;
  /** Some, not all, are up. */
  partial: boolean;
  servers: Array<ClusterServer & { alive: boolean; frozen: boolean }>;
  zookeeper: { port: number; pid: number | null; alive: boolean };
}

export const CLUSTER_NAME: 'colonnade';
/** Password of the `colonnade` user (the `default` user has none). */
export const PASSWORD: 's3cret:p@ss';
/** A user whose password is not Latin-1 (it can only travel as UTF-8, in HTTP Basic). */
export const UNICODE_USER: 'unicode';
export const UNICODE_PASSWORD: 'пароль-ü';

/** Folder, base port, size and state file, from the env (or the folder's state.json). */
export function settings(layout?: { base: number; size: number }): { dir: string; base: number; size: number; stateFile: string };
/**
 * Starts whatever is not running (apt-get installs first if needed) and waits for ZooKeeper,
 * every `/ping`, and every server's ZooKeeper session. Idempotent.
 * @example const { urls } = await start();
 */
export function start(): Promise<ClusterInfo>;
/** A test run's hold on the cluster; `release()` resolves true when it stopped the cluster. */
export interface ClusterLease {
  cluster: ClusterInfo;
  /** This call started the cluster (it was not running, not even partly). */
  startedHere: boolean;
  release(): Promise<boolean>;
}

/**
 * `start()` plus a lease for a test run: `release()` stops the cluster only if a lease holder
 * started it and no other live holder remains.
 * @example const lease = await acquire(); try { ... } finally { await lease.release(); }
 */
export function acquire(): Promise<ClusterLease>;
/** Stops the recorded processes (servers, then ZooKeeper); data is kept. @example await stop(); */
export function stop(): Promise<void>;
/** `stop()`, then deletes the cluster folder. @example await clean(); */
export function clean(): Promise<void>;
/** What runs, by recorded pid. @example (await status()).running */
export function status(): Promise<ClusterStatus>;
/** SIGKILL; resolves once its ports refuse connections. @example await killServer(1); */
export function killServer(index: number): Promise<void>;
/** SIGSTOP; resolves once the kernel shows it stopped. @example await freezeServer(2); */
export function freezeServer(index: number): Promise<void>;
/** SIGCONT after `freezeServer`. @example await resumeServer(2); */
export function resumeServer(index: number): Promise<void>;
/** Graceful stop of one server. @example await stopServer(0); */
export function stopServer(index: number): Promise<void>;
/** Starts one server again (same config and data); resolves on `/ping`. @example await startServer(1); */
export function startServer(index: number): Promise<Omit<ClusterServer, 'pid'> & { pid: number }>;
