// The layers of DESIGN.md, checked on the source text: the protocol layer knows nothing of
// actors or pools, the runtime nothing of ClickHouse, the pool reaches both only through
// their barrels, the entry files only export, and no file grows past the size a reader
// can hold in mind.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, 'src');
const test = suite('architecture');

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []);
}

/** Every module specifier a file imports or re-exports, resolved to a path under src/ when relative. */
function importsOf(file: string): { spec: string; target: string | undefined }[] {
  const text = readFileSync(file, 'utf8');
  const out: { spec: string; target: string | undefined }[] = [];
  for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^'";]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|(?:^|\n)\s*import\s+['"]([^'"]+)['"]/g)) {
    const spec = (m[1] ?? m[2] ?? m[3])!;
    out.push({ spec, target: spec.startsWith('.') ? relative(src, resolve(dirname(file), spec)).replace(/\\/g, '/') : undefined });
  }
  return out;
}

const layer = (path: string): string => relative(src, path).split('/')[0]!;
const all = files(src);

test('layers :: src/clickhouse imports no actor runtime, no pool and no xstate', () => {
  for (const file of all.filter((f) => layer(f) === 'clickhouse')) {
    for (const { spec, target } of importsOf(file)) {
      assert.not.ok(spec === 'xstate' || spec.startsWith('xstate/'), `${relative(root, file)} imports ${spec}`);
      assert.ok(target === undefined || target.startsWith('clickhouse/'), `${relative(root, file)} reaches out of its layer: ${spec}`);
    }
  }
});

test('layers :: src/otp knows nothing of ClickHouse (no protocol, no pool, no undici)', () => {
  for (const file of all.filter((f) => layer(f) === 'otp')) {
    for (const { spec, target } of importsOf(file)) {
      assert.not.ok(spec === 'undici', `${relative(root, file)} imports undici`);
      assert.ok(target === undefined || target.startsWith('otp/'), `${relative(root, file)} reaches out of its layer: ${spec}`);
    }
  }
});

test('layers :: src/pool reaches the protocol and the runtime only through their barrels', () => {
  for (const file of all.filter((f) => layer(f) === 'pool')) {
    for (const { spec, target } of importsOf(file)) {
      if (target === undefined) continue;
      const to = target.split('/')[0];
      if (to === 'clickhouse' || to === 'otp') assert.is(target, `${to}/index.js`, `${relative(root, file)}: deep import ${spec}`);
      else assert.is(to, 'pool', `${relative(root, file)} imports ${spec}`);
    }
  }
});

test('layers :: src/observer reaches the runtime, the pool and the protocol only through their barrels; only the entry imports it', () => {
  for (const file of all) {
    for (const { spec, target } of importsOf(file)) {
      if (target === undefined) continue;
      const to = target.split('/')[0];
      if (layer(file) === 'observer' && to !== 'observer') assert.is(target, `${to}/index.js`, `${relative(root, file)}: deep import ${spec}`);
      if (layer(file) !== 'observer' && to === 'observer') assert.is(relative(src, file), 'index.ts', `${relative(root, file)} imports the observer`);
    }
  }
});

test('layers :: the entry files only re-export (no logic)', () => {
  for (const file of all.filter((f) => dirname(f) === src)) {
    const code = readFileSync(file, 'utf8')
      .replace(/\/\*[\s\S]*?\*\//g, '')
      .replace(/\/\/[^\n]*/g, '')
      .replace(/export\s+(?:type\s+)?\{[^}]*\}\s*from\s*['"][^'"]+['"];/g, '')
      .replace(/export\s+\*\s+from\s*['"][^'"]+['"];/g, '')
      .trim();
    assert.is(code, '', `${relative(root, file)} holds more than re-exports`);
  }
});

test('size :: no source file over 400 lines; the pool API (define-pool.ts) under 200', () => {
  for (const file of all) {
    const lines = readFileSync(file, 'utf8').split('\n').length;
    assert.ok(lines <= 400, `${relative(root, file)} has ${lines} lines`);
  }
  assert.ok(readFileSync(join(src, 'pool', 'define-pool.ts'), 'utf8').split('\n').length < 200, 'define-pool.ts');
});

test.run();
