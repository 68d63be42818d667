import { isReservedKey, isSettingName } from './checks.js';
import { ConfigError } from './errors.js';
import type { ServerConfig, Settings } from './types.js';

/**
 * Parses `http(s)://user:password@host:port/database?setting=value` into a `ServerConfig`.
 * User and password are percent-decoded; the port defaults to 8123 (http) or 8443 (https);
 * the database defaults to `default`; other query-string keys become ClickHouse settings.
 * Throws `ConfigError` whose message never contains the password.
 *
 * @example
 * const server = parseConnectionString('http://colonnade:s3cret%3Ap%40ss@127.0.0.1:8123/analytics?max_threads=2');
 * server.password; // 's3cret:p@ss'
 * server.redacted; // 'http://colonnade:***@127.0.0.1:8123/analytics?max_threads=2'
 */
export function parseConnectionString(url: string): ServerConfig {
  if (typeof url !== 'string' || url.trim() === '') {
    throw new ConfigError('connection string: expected a non-empty string like http://user:password@host:8123/database');
  }
  const shown = redactUrl(url);
  const fail = (reason: string): never => {
    throw new ConfigError(`connection string ${shown}: ${reason}`);
  };
  let parsed: URL;
  try {
    parsed = new URL(url.trim());
  } catch {
    // Unparseable text has no reliable place where a password ends, so none of it is shown.
    throw new ConfigError('connection string (not shown: it may hold a password) is not a valid URL; expected http://user:password@host:8123/database');
  }
  const protocol = parsed.protocol.slice(0, -1);
  if (protocol !== 'http' && protocol !== 'https') return fail(`protocol must be http or https, got ${protocol}`);
  if (parsed.hostname === '') return fail('host is missing');
  // An `@` after the host is a password's `@`, `?`, `#` or `/` left as it is: what follows
  // the first of these was read as the host, and the password's tail as path or settings.
  if (`${parsed.pathname}${parsed.search}${parsed.hash}`.includes('@')) {
    return fail('an "@" after the host: percent-encode (encodeURIComponent) a password\'s "@", "?", "#" and "/", and an "@" in a setting\'s value');
  }
  if (parsed.hash !== '') return fail('a #fragment is not allowed');
  const port = parsed.port === '' ? (protocol === 'https' ? 8443 : 8123) : Number(parsed.port);
  const username = decode(parsed.username, 'user name', fail);
  const password = decode(parsed.password, 'password', fail);
  const segments = parsed.pathname.split('/').filter((s) => s !== '');
  if (segments.length > 1) return fail('the path must be a single database name, like /analytics');
  const database = segments.length === 0 ? 'default' : decode(segments[0] ?? '', 'database', fail);
  if (/[\u0000-\u001f`]/.test(database)) return fail('database name holds a control character or backtick');

  const settings: Record<string, string> = {};
  for (const [key, value] of parsed.searchParams) {
    // Not quoted: a password's unencoded tail may be read as one.
    if (!isSettingName(key)) return fail('a query-string key is no setting name (an identifier)');
    if (isReservedKey(key)) return fail(`query-string key ${key} is not allowed (credentials and the database go in the URL's user, password and path; a quota key or default format in the settings option)`);
    if (key in settings) return fail(`setting ${key} is given twice`);
    settings[key] = value;
  }
  if (username.includes(':') && !/^[\x20-\x7e]*$/.test(`${username}${password}`)) {
    return fail('a user name with ":" cannot be sent with a password that is not printable ASCII (HTTP Basic splits at ":")');
  }
  const origin = `${protocol}://${parsed.hostname}:${port}`;
  const user = username === '' ? '' : `${encodeURIComponent(username)}${password === '' ? '' : ':***'}@`;
  const query = parsed.searchParams.toString();
  const config: ServerConfig = {
    protocol,
    host: parsed.hostname,
    port,
    username: username === '' ? 'default' : username,
    password: '',
    database,
    settings: Object.freeze(settings) as Settings,
    origin,
    redacted: `${protocol}://${user}${parsed.hostname}:${port}/${encodeURIComponent(database)}${query === '' ? '' : `?${query}`.replace(SECRET_PARAM, '$1$2=***')}`,
  };
  // Not enumerable, so console.log, util.inspect and JSON.stringify of a config never show
  // them (a setting may be a secret: `?api_key=`; `redacted` shows the settings).
  Object.defineProperty(config, 'password', { value: password, enumerable: false });
  Object.defineProperty(config, 'settings', { value: config.settings, enumerable: false });
  return Object.freeze(config);
}

function decode(text: string, what: string, fail: (reason: string) => never): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return fail(`${what} has a malformed percent-escape`);
  }
}

/**
 * Hides whatever could be a password in a string that may not even parse: everything of
 * the user-info part after the first `:` up to the last `@`. The one redaction of text
 * that a user gave as a connection string.
 *
 * @example
 * redactUrl('http://ann:s3cret@127.0.0.1:8123/db'); // 'http://ann:***@127.0.0.1:8123/db'
 */
export function redactUrl(url: string): string {
  const scheme = url.indexOf('://');
  const start = scheme < 0 ? 0 : scheme + 3;
  const at = url.lastIndexOf('@');
  let shown = url;
  if (at >= start) {
    const userinfo = url.slice(start, at);
    const colon = userinfo.indexOf(':');
    const user = colon < 0 ? userinfo : userinfo.slice(0, colon);
    shown = `${url.slice(0, start)}${user}:***${url.slice(at)}`;
  }
  // A secret given as a query-string key (`?password=`, `?PassWord=`, `?api_key=` ...).
  shown = shown.replace(SECRET_PARAM, '$1$2=***');
  return shown.length > 200 ? `${shown.slice(0, 200)}...` : shown;
}

const SECRET_PARAM = /([?&])([^=&#]*(?:pass|key|secret|token)[^=&#]*)=([^&#]*)/gi;
