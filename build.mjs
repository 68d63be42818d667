// Builds dist/ for the three entries of package.json's `exports`: `colonnade` (src/index.ts),
// `colonnade/protocol` (src/protocol.ts) and `colonnade/otp` (src/otp.ts).
//
// - ESM: one esbuild build with code splitting, so the entries share chunks (dist/chunks/)
//   and a class such as ClickHouseError exists once however many entries a program imports.
// - CommonJS: esbuild cannot split CJS, so all the code goes into one internal bundle,
//   dist/core.cjs, and each entry (dist/index.cjs, …) is a thin module that requires it:
//   the same one-class-per-process guarantee for `require`.
// - Declarations: tsc writes .d.ts (ESM, for `import`); each is copied to a .d.cts with its
//   relative `.js` specifiers rewritten to `.cjs`, so `require` gets declarations that
//   TypeScript reads as CommonJS (node16/nodenext would otherwise call them ESM).
//
// Runtime dependencies stay external.
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const entries = { index: 'src/index.ts', protocol: 'src/protocol.ts', otp: 'src/otp.ts' };
const pkg = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8'));
const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  sourcemap: true,
  external: Object.keys(pkg.dependencies ?? {}),
  logLevel: 'warning',
};

// In a CJS entry, every import of a layer's barrel becomes `require('./core.cjs')`.
const layersToCore = {
  name: 'layers-to-core',
  setup(b) {
    b.onResolve({ filter: /^\.\/(clickhouse|otp|pool)\/index\.js$/ }, () => ({ path: './core.cjs', external: true }));
  },
};

rmSync('dist', { recursive: true, force: true });

await build({
  ...common,
  entryPoints: entries,
  format: 'esm',
  splitting: true,
  outdir: 'dist',
  chunkNames: 'chunks/[name]-[hash]',
});

await build({
  ...common,
  stdin: {
    contents: Object.values(entries).map((file) => `export * from './${file}';`).join('\n'),
    resolveDir: '.',
    sourcefile: 'core.ts',
    loader: 'ts',
  },
  format: 'cjs',
  outfile: 'dist/core.cjs',
});
await build({ ...common, entryPoints: entries, format: 'cjs', outdir: 'dist', outExtension: { '.js': '.cjs' }, plugins: [layersToCore] });

const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { stdio: 'inherit' });

const relativeJs = /((?:from|import)\s*\(?\s*)(['"])(\.\.?\/[^'"]*)\.js\2/g;
for (const file of readdirSync('dist', { recursive: true, encoding: 'utf8' })) {
  if (!file.endsWith('.d.ts')) continue;
  const text = readFileSync(join('dist', file), 'utf8');
  writeFileSync(join('dist', file.replace(/\.d\.ts$/, '.d.cts')), text.replace(relativeJs, '$1$2$3.cjs$2'));
}
console.log('built dist/ (esm with shared chunks, cjs over dist/core.cjs, .d.ts and .d.cts)');
