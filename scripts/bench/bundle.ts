// colonnade as it ships: src/index.ts, plus the three names of src/protocol.ts that the
// `perform` client uses, bundled the way build.mjs builds dist/ (esbuild, ESM, node20,
// runtime dependencies external) into one file in .bench/ (git-ignored) so the
// benchmark neither runs tsx-transformed source (esbuild's keepNames helpers in hot paths)
// nor touches the dist/ that tests may be reading.
import { build } from 'esbuild';
import { readFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** The public API, as the workers import it from the bundle. */
export type Colonnade = typeof import('../../src/index.js')
  & Pick<typeof import('../../src/protocol.js'), 'parseConnectionString' | 'perform' | 'prepare'>;

const root = fileURLToPath(new URL('../../', import.meta.url));

/**
 * Builds the bundle; resolves with its file URL.
 *
 * @example
 * const url = await bundleColonnade(); // 'file:///…/.bench/colonnade-1234.js'
 */
export async function bundleColonnade(): Promise<string> {
  const pkg = JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as { dependencies?: Record<string, string> };
  const outfile = `${root}.bench/colonnade-${process.pid}.js`;
  await build({
    stdin: {
      contents: "export * from './src/index.ts';\nexport { parseConnectionString, perform, prepare } from './src/protocol.ts';\n",
      resolveDir: root,
      sourcefile: 'bench-entry.ts',
      loader: 'ts',
    },
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    external: Object.keys(pkg.dependencies ?? {}),
    outfile,
    logLevel: 'warning',
  });
  return pathToFileURL(outfile).href;
}

/**
 * Imports the bundle built by `bundleColonnade`.
 *
 * @example
 * const { definePool } = await loadColonnade(url);
 */
export function loadColonnade(url: string): Promise<Colonnade> {
  return import(url) as Promise<Colonnade>;
}
