import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { visibleText } from '../secrets.js';
import { inspect } from 'node:util';
import { parseConnectionString, redactUrl } from '../../src/clickhouse/connection-string.js';
import { ConfigError } from '../../src/clickhouse/errors.js';

const test = suite('connection-string');
const SECRET = 's3cret:p@ss';

test('parse :: full string with percent-encoded password and settings', () => {
  const s = parseConnectionString('http://colonnade:s3cret%3Ap%40ss@127.0.0.1:18123/analytics?max_threads=2&insert_quorum=2');
  assert.is(s.protocol, 'http');
  assert.is(s.host, '127.0.0.1');
  assert.is(s.port, 18123);
  assert.is(s.username, 'colonnade');
  assert.is(s.password, SECRET);
  assert.is(s.database, 'analytics');
  assert.equal({ ...s.settings }, { max_threads: '2', insert_quorum: '2' });
  assert.is(s.origin, 'http://127.0.0.1:18123');
  assert.is(s.redacted, 'http://colonnade:***@127.0.0.1:18123/analytics?max_threads=2&insert_quorum=2');
});

test('parse :: defaults for port, user and database', () => {
  const http = parseConnectionString('http://localhost');
  assert.is(http.port, 8123);
  assert.is(http.database, 'default');
  assert.is(http.username, 'default');
  assert.is(http.password, '');
  assert.is(http.redacted, 'http://localhost:8123/default');
  assert.is(parseConnectionString('https://db.example.com/x').port, 8443);
  assert.is(parseConnectionString('https://db.example.com/x').origin, 'https://db.example.com:8443');
});

test('parse :: IPv6 host keeps its brackets in the origin', () => {
  assert.is(parseConnectionString('http://[::1]:9000/').origin, 'http://[::1]:9000');
});

test('parse :: the password is invisible to inspect and JSON', () => {
  const s = parseConnectionString(`http://colonnade:${encodeURIComponent(SECRET)}@h/db`);
  assert.not.ok(inspect(s, { depth: 5 }).includes('s3cret'));
  assert.not.ok(JSON.stringify(s).includes('s3cret'));
  assert.is(visibleText(s).includes('s3cret'), true, 'showHidden does reveal it: the field is hidden from printing, not unreachable');
  assert.is(s.password, SECRET);
});

const bad: [string, RegExp][] = [
  ['ftp://u:hunter2secret@host/db', /protocol must be http or https/],
  ['http://u:hunter2secret@host:99999/db', /not a valid URL/],
  ['not a url hunter2secret', /not a valid URL/],
  ['http://u:hunter2secret@host/db/extra', /single database name/],
  ['http://u:hunter2secret@host/db?password=x', /password is not allowed/],
  ['http://u:hunter2secret@host/db?bad-key=1', /no setting name/],
  // A password's `?`, `#` or `/` left unencoded (before: its tail quoted as a setting name, or,
  // after digits, the string taken as host u, port 2024, with the tail shown in `redacted`).
  ['http://u:2024?hunter2secret@host:8123/db', /percent-encode/],
  ['http://u:2024?pw=hunter2secret@host:8123/db', /percent-encode/],
  ['http://u:2024/hunter2secret@host:8123/db', /percent-encode/],
  ['http://u:2024#hunter2secret@host:8123/db', /percent-encode/],
  ['http://u:hunter2secret@host/db#frag', /fragment/],
  ['http://u:hunter2%ZZsecret@host/db', /(malformed percent-escape|not a valid URL)/],
  ['http://u:hunter2@secret@host:x/db', /not a valid URL/],
  // A password's `@` left unencoded: the user info ends at the last `@` (before: its tail was shown).
  ['ftp://u:hunter2@secret@host/db', /protocol must be http or https/],
  ['http://u:hunter2@secret@host/db/extra', /single database name/],
  ['http://u:hunter2@secret@host/db?bad-key=1', /no setting name/],
  // HTTP Basic splits user and password at the first `:`: such a user cannot go with a non-ASCII password.
  ['http://a%3Ab:hunter2%C3%A4secret@host/db', /user name with ":" cannot be sent with a password that is not printable ASCII/],
  // A database name is quoted in SQL with backticks.
  ['http://u:hunter2secret@host/a%60b', /database name holds a control character or backtick/],
  ['http://u:hunter2secret@host/a%0Ab', /database name holds a control character or backtick/],
  ['http://u:hunter2secret@host/db?max_threads=1&max_threads=8', /setting max_threads is given twice/],
  // A quota key or output format set for every call of the connection: they belong in the settings option.
  ['http://u:hunter2secret@host/db?quota_key=k', /query-string key quota_key is not allowed/],
  ['http://u:hunter2secret@host/db?default_format=CSV', /query-string key default_format is not allowed/],
];
for (const [url, why] of bad) {
  test(`parse :: refuses ${url.replace(/hunter2[^@]*/, '<pw>')} without echoing the password`, () => {
    try {
      parseConnectionString(url);
      assert.unreachable('should throw');
    } catch (err) {
      assert.instance(err, ConfigError);
      assert.is((err as ConfigError).code, 'CONFIG');
      assert.match((err as Error).message, why);
      assert.not.ok((err as Error).message.includes('hunter2'), (err as Error).message);
      assert.not.ok((err as Error).message.includes('secret'), (err as Error).message);
    }
  });
}

test('parse :: settings are hidden from inspect and JSON too (one may be a secret), and shown redacted', () => {
  const s = parseConnectionString('http://u@h/db?api_key=hunter2secret&max_threads=2');
  assert.not.ok(inspect(s, { depth: 5 }).includes('hunter2'));
  assert.not.ok(JSON.stringify(s).includes('hunter2'));
  assert.equal(s.settings, { api_key: 'hunter2secret', max_threads: '2' });
  assert.is(s.redacted, 'http://u@h:8123/db?api_key=***&max_threads=2');
});

test('redact :: the user info is hidden up to the last "@", and a long string is cut at 200 characters', () => {
  assert.is(redactUrl('http://u:p@ss@h/db'), 'http://u:***@h/db');
  const long = redactUrl(`http://u:pw@h/${'x'.repeat(300)}`);
  assert.is(long, `http://u:***@h/${'x'.repeat(200 - 'http://u:***@h/'.length)}...`);
});

test('parse :: refuses an empty string', () => {
  assert.throws(() => parseConnectionString(''), (e: unknown) => e instanceof ConfigError);
});

test.run();
