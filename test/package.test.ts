// The package as a user gets it: `npm pack` of the built package (dist/, made by
// `node build.mjs`, which scripts/test.mjs runs first), unpacked into
// <tmp>/node_modules/colonnade of a throwaway project whose node_modules links the runtime
// dependencies (and @types) of this checkout. Everything below reaches colonnade through
// its `exports` map only: each entry by ESM `import` and CommonJS `require` against the
// local cluster, and a TypeScript consumer under node16 (CJS and ESM), bundler and node10.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import ts from 'typescript';
import { serverUrls } from './integration/cluster.js';

const run = promisify(execFile);
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const test = suite('package');

/** The public names of each entry: runtime values, then type-only names. */
const SURFACE = {
  colonnade: {
    file: 'index',
    values: [
      'definePool', 'startSupervisor', 'supervisor', 'connect', 'observer',
      'ColonnadeError', 'ClickHouseError', 'TransportError', 'TimeoutError', 'AbortError', 'ConfigError',
      'QueryParamError', 'ProtocolError', 'ClosedError', 'PoolError', 'PoolTimeoutError', 'NoServerAvailableError',
      'PoolNotStartedError', 'PoolStoppedError', 'ConnectionCrashedError', 'MailboxFullError', 'WriterStoppedError',
      'OtpError',
    ],
    types: [
      'PoolOptions', 'ClickHousePool', 'PoolMessage', 'PoolResults', 'PoolStats', 'ServerStats', 'WriterStats',
      'Connection', 'ConnectOptions', 'CallOptions', 'QueryParams', 'Row', 'Settings', 'PoolEvents', 'RowStream', 'Progress',
    ],
  },
  'colonnade/protocol': {
    file: 'protocol',
    values: [
      'connect', 'parseConnectionString', 'renderQuery', 'formatTypedParam', 'formatLiteral', 'quoteString', 'quoteIdentifier', 'encodeRow',
      'encodeRows', 'parseColumnType', 'decodeTsv', 'prepare', 'perform', 'ping', 'parseServerError', 'insertStopOf',
      'ColonnadeError', 'ClickHouseError', 'TransportError', 'TimeoutError', 'AbortError', 'ConfigError',
      'QueryParamError', 'ProtocolError', 'ClosedError', 'ResultTooLargeError',
    ],
    types: [
      'Connection', 'ConnectOptions', 'CallOptions', 'Command', 'CommandResults', 'Int64Mode', 'PreparedRequest',
      'QueryParams', 'RequestDefaults', 'Row', 'ServerConfig', 'Settings', 'Transport', 'ColumnType', 'DecodeContext',
      'ErrorCode', 'ServerErrorInfo', 'ColumnEncoding', 'ColumnEncodings', 'RowStream', 'RowSink', 'RowSource', 'InsertResult',
      'Progress', 'Compression', 'InsertStop',
    ],
  },
  'colonnade/otp': {
    file: 'otp',
    values: [
      'startSupervisor', 'supervisor', 'supervisorOf', 'register', 'unregister', 'whereis', 'registered', 'realClock',
      'createTestClock', 'OtpError',
    ],
    types: [
      'ChildActor', 'ChildCounts', 'ChildInfo', 'ChildInput', 'ChildSpec', 'ChildSpecSource', 'Clock', 'ExitReason',
      'NestedSupervisorOptions', 'OtpErrorCode', 'RestartType', 'Shutdown', 'StartContext', 'Strategy', 'Supervisor',
      'SupervisorContext', 'SupervisorEvent', 'SupervisorNotice', 'SupervisorOptions', 'SupervisorSnapshot', 'SupervisorStatus', 'TestClock',
    ],
  },
} as const;
const ENTRIES = Object.keys(SURFACE) as (keyof typeof SURFACE)[];
const sorted = (names: readonly string[]): string[] => [...names].sort();

let project = '';
const installed = (): string => join(project, 'node_modules', 'colonnade');

test.before(async () => {
  project = mkdtempSync(join(tmpdir(), 'colonnade-package-'));
  const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', project], { cwd: root, timeout: 60_000 });
  const [{ filename }] = JSON.parse(stdout) as { filename: string }[];
  mkdirSync(installed(), { recursive: true });
  await run('tar', ['-xzf', join(project, filename), '-C', installed(), '--strip-components=1']);
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
  for (const dep of [...Object.keys(pkg.dependencies), '@types']) {
    symlinkSync(join(root, 'node_modules', dep), join(project, 'node_modules', dep), 'dir');
  }
  writeFileSync(join(project, 'package.json'), '{ "private": true }\n');
});

test.after(() => {
  if (project) rmSync(project, { recursive: true, force: true });
});

test('package :: the tarball holds each entry for import and require, with declarations for each', () => {
  for (const entry of ENTRIES) {
    const { file } = SURFACE[entry];
    for (const ext of ['js', 'cjs', 'd.ts', 'd.cts']) assert.ok(existsSync(join(installed(), 'dist', `${file}.${ext}`)), `${file}.${ext}`);
  }
  assert.ok(existsSync(join(installed(), 'dist', 'core.cjs')));
  assert.not.ok(existsSync(join(installed(), 'src')), 'sources are not shipped');
});

// 39: issue 13 added the types of `stream()` (RowStream) and `onProgress` (Progress); the rest of its names are in colonnade/protocol.
test('package :: each entry declares exactly its public names, the main one at most 39', () => {
  const files = ENTRIES.map((entry) => join(installed(), 'dist', `${SURFACE[entry].file}.d.ts`));
  const program = ts.createProgram(files, { module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, noEmit: true });
  const checker = program.getTypeChecker();
  for (const [i, entry] of ENTRIES.entries()) {
    const source = program.getSourceFile(files[i]!)!;
    const names = checker.getExportsOfModule(checker.getSymbolAtLocation(source)!).map((s) => s.name);
    assert.equal(sorted(names), sorted([...SURFACE[entry].values, ...SURFACE[entry].types]), entry);
  }
  const main = SURFACE.colonnade;
  assert.ok(main.values.length + main.types.length <= 39);
  assert.not.ok((main.types as readonly string[]).includes('PoolInternals'));
});

// The same work under `import` and `require`: what each entry exports, which file it
// loaded, queries through the main entry (direct and pooled) and `colonnade/protocol`, a
// supervisor from `colonnade/otp`, and whether classes are one and the same across entries.
const WORK = `
(async () => {
  const [url, pooled] = JSON.parse(process.env.URLS);
  const conn = main.connect(url, { timeout: 5000 });
  const direct = await conn.select('SELECT {n} + 1 AS x, {s} AS s', { n: 41, s: "it's" });
  await conn.close();

  const pool = main.definePool({ connectionStrings: [pooled], name: 'PackageTest', poolSize: 2 });
  const app = await main.startSupervisor([pool]);
  const viaPool = await pool.select('SELECT 42 AS answer');
  const failure = await pool.select('SELECT * FROM no_such_table_colonnade_package').catch((e) => e);
  await app.stop();

  const raw = protocol.connect(url);
  const viaProtocol = await raw.select('SELECT 1 AS one');
  await raw.close();

  const tree = await otp.startSupervisor([otp.supervisor({ id: 'inner', children: [] })]);
  const children = tree.whichChildren().map((c) => c.id + ':' + c.type + ':' + c.running);
  await tree.stop();

  const made = new main.ClickHouseError({ serverCode: 60, serverMessage: 'x' }, 404);
  console.log(JSON.stringify({
    files: resolved.map((f) => f.slice(f.lastIndexOf('/dist/') + 1)),
    names: [main, protocol, otp].map((m) => Object.keys(m).sort()),
    direct, viaPool, viaProtocol, children, treeStatus: tree.status,
    failure: [failure.code, failure.serverCode, failure instanceof protocol.ClickHouseError, failure instanceof main.ColonnadeError],
    crossEntry: [
      made instanceof protocol.ClickHouseError,
      new protocol.TimeoutError(5, false) instanceof main.ColonnadeError,
      main.ClickHouseError === protocol.ClickHouseError,
      main.OtpError === otp.OtpError,
      main.startSupervisor === otp.startSupervisor,
      main.connect === protocol.connect,
    ],
  }));
})().catch((err) => { console.error(err); process.exit(1); });
`;

const SCRIPTS = {
  'check.mjs': `import { fileURLToPath } from 'node:url';
import * as main from 'colonnade';
import * as protocol from 'colonnade/protocol';
import * as otp from 'colonnade/otp';
const resolved = ${JSON.stringify(ENTRIES)}.map((s) => fileURLToPath(import.meta.resolve(s)));
${WORK}`,
  'check.cjs': `const main = require('colonnade');
const protocol = require('colonnade/protocol');
const otp = require('colonnade/otp');
const resolved = ${JSON.stringify(ENTRIES)}.map((s) => require.resolve(s));
${WORK}`,
};

for (const [script, ext] of [['check.mjs', 'js'], ['check.cjs', 'cjs']] as const) {
  const how = ext === 'js' ? 'ESM import' : 'CommonJS require';
  test(`package :: ${how} of every entry loads its ${ext === 'js' ? '.js' : '.cjs'} file and works against the cluster`, async () => {
    writeFileSync(join(project, script), SCRIPTS[script]);
    const urls = [serverUrls()[0], serverUrls({ user: 'colonnade' })[1]];
    const { stdout } = await run(process.execPath, [script], { cwd: project, env: { ...process.env, URLS: JSON.stringify(urls) }, timeout: 30_000 });
    assert.equal(JSON.parse(stdout), {
      files: ENTRIES.map((entry) => `dist/${SURFACE[entry].file}.${ext}`),
      names: ENTRIES.map((entry) => sorted(SURFACE[entry].values)),
      direct: [{ x: 42, s: "it's" }],
      viaPool: [{ answer: 42 }],
      viaProtocol: [{ one: 1 }],
      children: ['inner:supervisor:true'],
      treeStatus: 'stopped',
      failure: ['CLICKHOUSE', 60, true, true],
      crossEntry: [true, true, true, true, true, true],
    });
  });
}

// A consumer that names a few types from each entry. The @ts-expect-error lines fail the
// compile if the types degrade to `any` or if the hidden test seam becomes public.
const CONSUMER = `import { connect, definePool, ClickHouseError, type PoolOptions, type ClickHousePool, type PoolStats, type Row, type Connection } from 'colonnade';
// @ts-expect-error the pool's test seam is not public
import type { PoolInternals } from 'colonnade';
import { renderQuery, parseConnectionString, ClickHouseError as ProtocolClickHouseError, type ServerConfig, type Int64Mode } from 'colonnade/protocol';
import { startSupervisor, realClock, type Clock, type Supervisor } from 'colonnade/otp';

const options: PoolOptions = { connectionStrings: ['http://127.0.0.1:8123/default'], name: 'Typed', poolSize: 2 };
const pool: ClickHousePool = definePool(options);
export const rows: Promise<Row[]> = pool.select('SELECT {n} AS n', { n: 1 });
export const stats = (): PoolStats => pool.stats();
export const conn: Connection = connect('http://127.0.0.1:8123/default', { int64: 'bigint' });
export const server: ServerConfig = parseConnectionString('http://127.0.0.1:8123/default');
export const sql: string = renderQuery('SELECT {x}', { x: 1 });
export const mode: Int64Mode = 'string';
export const clock: Clock = realClock;
export const tree: Promise<Supervisor> = startSupervisor([]);
export const same: typeof ClickHouseError = ProtocolClickHouseError;
export const code: string = new ClickHouseError({ serverCode: 60, serverMessage: 'x' }, 500).code;
// @ts-expect-error poolSize is a number
definePool({ connectionStrings: [], name: 'Untyped', poolSize: 'ten' });
`;

const CONSUMERS: Record<string, { files: Record<string, string>; compilerOptions: Record<string, unknown> }> = {
  'node16 (CJS .cts and ESM .mts)': {
    files: { 'consumer.cts': CONSUMER, 'consumer.mts': CONSUMER },
    compilerOptions: { module: 'node16', moduleResolution: 'node16' },
  },
  bundler: { files: { 'consumer-bundler.ts': CONSUMER }, compilerOptions: { module: 'esnext', moduleResolution: 'bundler' } },
  node10: { files: { 'consumer-node10.ts': CONSUMER }, compilerOptions: { module: 'commonjs', moduleResolution: 'node10' } },
};

for (const [name, { files, compilerOptions }] of Object.entries(CONSUMERS)) {
  test(`package :: a TypeScript consumer typechecks under ${name}`, async () => {
    for (const [file, text] of Object.entries(files)) writeFileSync(join(project, file), text);
    const config = `tsconfig.${name.split(' ')[0]}.json`;
    writeFileSync(join(project, config), JSON.stringify({
      compilerOptions: { ...compilerOptions, target: 'es2022', strict: true, noEmit: true, types: ['node'], skipLibCheck: false },
      files: Object.keys(files),
    }));
    const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    const result = await run(process.execPath, [tsc, '-p', config, '--pretty', 'false', '--traceResolution'], { cwd: project, timeout: 60_000 })
      .catch((err: { stdout: string }) => ({ stdout: err.stdout, failed: true }));
    const errors = result.stdout.split('\n').filter((line) => /error TS\d+/.test(line));
    assert.equal(errors, [], errors.join('\n'));
    assert.not.ok('failed' in result);
    // Each entry resolved inside the installed package, to the declarations of its mode.
    for (const entry of ENTRIES) {
      const hits = [...result.stdout.matchAll(new RegExp(`Module name '${entry}' was successfully resolved to '([^']+)'`, 'g'))].map((m) => m[1]!);
      assert.ok(hits.length > 0, `${entry} resolved`);
      for (const hit of hits) assert.ok(hit.startsWith(installed()), `${entry} → ${hit}`);
    }
  });
}

test.run();
