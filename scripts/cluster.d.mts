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

export function settings(layout?: { base: number; size: number }): { dir: string; base: number; size: number; stateFile: string };
export function start(): Promise<ClusterInfo>;
/** A test run's hold on the cluster; `release()` resolves true when it stopped the cluster. */
export interface ClusterLease {
  cluster: ClusterInfo;
  /** This call started the cluster (it was not running, not even partly). */
  startedHere: boolean;
  release(): Promise<boolean>;
}

export function acquire(): Promise<ClusterLease>;
export function stop(): Promise<void>;
export function clean(): Promise<void>;
export function status(): Promise<ClusterStatus>;
export function killServer(index: number): Promise<void>;
export function freezeServer(index: number): Promise<void>;
export function resumeServer(index: number): Promise<void>;
export function stopServer(index: number): Promise<void>;
export function startServer(index: number): Promise<Omit<ClusterServer, 'pid'> & { pid: number }>;
