// Helper for integration tests on the modern engine (standalone 26.x servers, see
// scripts/cluster/modern.mjs). scripts/test.mjs sets COLONNADE_MODERN_DIR when a modern
// cluster is there for the run; a suite that needs one skips by name when it is not.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as modern from '../../scripts/cluster/modern.mjs';
import type { ModernInfo, ModernServer } from '../../scripts/cluster/modern.mjs';

export type { ModernInfo, ModernServer };

/** Password of the `colonnade` user on every modern server (the same as on 18.16). */
export const PASSWORD: string = modern.PASSWORD;

/**
 * The modern cluster recorded in `<COLONNADE_MODERN_DIR>/state.json`, or null with the
 * reason when this run has none (the variable is unset or nothing is recorded there).
 *
 * @example
 * const found = modernCluster();
 * if (!found.info) console.log(`skipped: ${found.why}`);
 */
export function modernCluster(): { info: ModernInfo; why: null } | { info: null; why: string } {
  if (!process.env.COLONNADE_MODERN_DIR) {
    return { info: null, why: 'COLONNADE_MODERN_DIR is not set (run `COLONNADE_TEST_MODERN=1 npm test`, or start ' +
      '`npm run cluster start -- --engine modern` and set COLONNADE_MODERN_DIR to its folder)' };
  }
  const file = join(modern.settings().dir, 'state.json');
  try {
    return { info: JSON.parse(readFileSync(file, 'utf8')) as ModernInfo, why: null };
  } catch {
    return { info: null, why: `no modern cluster recorded in ${file}` };
  }
}

/**
 * Connection strings, one per modern server, for the given user.
 *
 * @example
 * modernUrls(info, { user: 'colonnade' });
 * // ['http://colonnade:s3cret%3Ap%40ss@127.0.0.1:19123/default', ...]
 */
export function modernUrls(info: ModernInfo, opts: { user?: 'default' | 'colonnade' | 'unicode'; password?: string } = {}): string[] {
  const user = opts.user ?? 'default';
  const password = opts.password ?? (user === 'unicode' ? modern.UNICODE_PASSWORD : PASSWORD);
  return info.servers.map((s) => {
    const auth = user === 'default' && opts.password === undefined ? '' : `${user}:${encodeURIComponent(password)}@`;
    return `http://${auth}127.0.0.1:${s.httpPort}/default`;
  });
}

/** SIGKILL modern server `index`; resolves once its port refuses connections. @example await killServer(1); */
export const killServer: (index: number) => Promise<void> = modern.killServer;
/** SIGSTOP modern server `index`; pair with `resumeServer`. @example await freezeServer(0); */
export const freezeServer: (index: number) => Promise<void> = modern.freezeServer;
/** SIGCONT modern server `index`. @example await resumeServer(0); */
export const resumeServer: (index: number) => Promise<void> = modern.resumeServer;
/** Graceful stop of modern server `index`. @example await stopServer(0); */
export const stopServer: (index: number) => Promise<void> = modern.stopServer;
/** Starts modern server `index` again with its data; resolves on `/ping`. @example await startServer(1); */
export const startServer: (index: number) => Promise<Omit<ModernServer, 'pid'> & { pid: number }> = modern.startServer;
