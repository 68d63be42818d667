import { BoundedCache } from './bounded-cache.js';
import { ProtocolError, withRequestSent } from './errors.js';
import { send } from './http.js';
import { withinOwn } from './signals.js';
import { queryPath } from './query-path.js';
import { checkResponse } from './response.js';
import type { ServerConfig, Transport } from './types.js';

/**
 * What a server can do, derived from its version: the client switches features per server
 * with these, never assuming one server's version for another.
 *
 * @example
 * featuresOf('18.16.1').typedParams;   // false
 * featuresOf('26.7.2.1').asyncInsert;  // true
 */
export interface ServerFeatures {
  /** `{name:Type}` placeholders with `param_<name>` values (19.11+). */
  readonly typedParams: boolean;
  /** The `async_insert` / `wait_for_async_insert` settings (21.11+). */
  readonly asyncInsert: boolean;
  /** The `insert_deduplication_token` setting (22.2+). */
  readonly insertDeduplicationToken: boolean;
  /** `RowBinaryWithNamesAndTypes` results with today's type names (22.1+). */
  readonly rowBinaryWithNamesAndTypes: boolean;
  /** `input_format_defaults_for_omitted_fields`: a JSONEachRow field left out takes its column's DEFAULT (20.1+ here). */
  readonly omittedFieldDefaults: boolean;
}

/**
 * One server as `SELECT version(), timezone()` describes it, read once per server origin.
 *
 * @example
 * const info: ServerInfo = await serverInfo(client, server, { timeout: 5_000 });
 * info.version;  // '26.7.2.1'
 * info.features.typedParams; // true
 */
export interface ServerInfo {
  /** As the server prints it, e.g. `18.16.1` or `26.7.2.1`. */
  readonly version: string;
  readonly major: number;
  readonly minor: number;
  /** The server's time zone, for `DateTime` columns without their own. */
  readonly timeZone: string;
  readonly features: ServerFeatures;
}

/**
 * The major and minor numbers of a version text (`'26.7.2.1'` → `[26, 7]`); throws
 * `ProtocolError` for text that is not a version.
 *
 * @example
 * parseVersion('18.16.1'); // [18, 16]
 */
export function parseVersion(version: string): readonly [number, number] {
  const m = /^(\d+)\.(\d+)(?:\.|$)/.exec(version.trim());
  if (!m) throw new ProtocolError(`cannot read server version ${JSON.stringify(version.slice(0, 100))}`, 200);
  return [Number(m[1]), Number(m[2])];
}

/**
 * The features of a server of this version.
 *
 * @example
 * featuresOf('22.3.1').insertDeduplicationToken; // true
 */
export function featuresOf(version: string): ServerFeatures {
  const [major, minor] = parseVersion(version);
  const atLeast = (a: number, b: number): boolean => major > a || (major === a && minor >= b);
  return {
    typedParams: atLeast(19, 11),
    asyncInsert: atLeast(21, 11),
    insertDeduplicationToken: atLeast(22, 2),
    rowBinaryWithNamesAndTypes: atLeast(22, 1),
    omittedFieldDefaults: atLeast(20, 1),
  };
}

// Per server origin (and user: two users may see different servers behind one proxy).
const known = new BoundedCache<ServerInfo>({ maxEntries: 1_024, maxKeyLength: 2_048, maxChars: 256 * 1024 });
const asking = new Map<string, Promise<ServerInfo>>();

// Every select asks what is known of its server: the key is built once per parsed config.
const keys = new WeakMap<ServerConfig, string>();
function keyOf(server: ServerConfig): string {
  let key = keys.get(server);
  if (key === undefined) {
    key = `${server.origin} ${server.username}`;
    keys.set(server, key);
  }
  return key;
}

/**
 * What is known of `server` without asking it: its `ServerInfo` once `serverInfo` has read
 * it (and not forgotten since), else `undefined`.
 *
 * @example
 * knownServerInfo(server)?.version; // '26.7.2.1' or undefined
 */
export function knownServerInfo(server: ServerConfig): ServerInfo | undefined {
  return known.get(keyOf(server));
}

/**
 * The server's version, time zone and features: asked once per server origin with
 * `SELECT version(), timezone()` and kept; concurrent first calls share one request. A
 * failure is not kept, so the next call asks again. No abort signal: the request may be
 * shared by several callers, and it is bounded by `timeout`.
 *
 * @example
 * const { version, features } = await serverInfo(client, server, { timeout: 5_000 });
 */
export function serverInfo(
  transport: Transport,
  server: ServerConfig,
  options: { readonly timeout: number },
): Promise<ServerInfo> {
  const key = keyOf(server);
  const have = known.get(key);
  if (have !== undefined) return Promise.resolve(have);
  let pending = asking.get(key);
  if (pending === undefined) {
    pending = send(transport, server, {
      method: 'POST', path: queryPath(server, []), body: 'SELECT version(), timezone() FORMAT TabSeparated',
      timeout: options.timeout,
    }).then((res) => {
      const [version = '', timeZone = ''] = checkResponse(res).trim().split('\t');
      if (timeZone === '') throw new ProtocolError(`${server.redacted}: SELECT version(), timezone() answered ${JSON.stringify(res.body.slice(0, 100))}`, res.status);
      const [major, minor] = parseVersion(version);
      const info: ServerInfo = { version, major, minor, timeZone, features: featuresOf(version) };
      known.set(key, info);
      return info;
    }).finally(() => asking.delete(key));
    asking.set(key, pending);
  }
  return pending;
}

/**
 * Drops what is known of `server`, so that the next `serverInfo` asks it again (after a
 * restart it may run another version).
 *
 * @example
 * forgetServerInfo(server);
 */
export function forgetServerInfo(server: ServerConfig): void {
  known.delete(keyOf(server));
}

/**
 * The server's `ServerInfo` (asked once per server, see `serverInfo`), given up on when the
 * call's signal fires or its time is up: the question may be shared with other calls and
 * goes on, but this call ends at once (a hedged read's losing attempt must not wait out a
 * hung server), and as a call whose own request was never sent.
 *
 * @example
 * const info = knownServerInfo(server) ?? await serverInfoWithin(transport, server, 2_000, options.signal);
 */
export function serverInfoWithin(transport: Transport, server: ServerConfig, timeout: number, signal: AbortSignal | undefined): Promise<ServerInfo> {
  // Bounded by this call's time even when the question was asked earlier with a longer one;
  // a failure of the version question is the call's, before its own request was sent.
  return withinOwn(() => serverInfo(transport, server, { timeout }), timeout, signal, (error) => withRequestSent(error, false));
}
