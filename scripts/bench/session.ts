// What every benchmark script does around its measurements: flags in both spellings, the
// local cluster of the chosen engine (started when it is not running, and then stopped
// again, also when the run is interrupted), and colonnade bundled as build.mjs builds it.
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as legacy from '../cluster.mjs';
import * as modern from '../cluster/modern.mjs';
import { bundleColonnade } from './bundle.js';

/**
 * `--flag value` rewritten as `--flag=value`, so both spellings work.
 *
 * @example
 * joinFlags(['--engine', 'modern', '--rounds=3']); // ['--engine=modern', '--rounds=3']
 */
export function joinFlags(argv: readonly string[]): string[] {
  return argv.flatMap((arg, i) => (/^--[a-z-]+$/.test(arg) && argv[i + 1] !== undefined && !argv[i + 1]!.startsWith('--') ? [`${arg}=${argv[i + 1]}`]
    : i > 0 && /^--[a-z-]+$/.test(argv[i - 1]!) && !arg.startsWith('--') ? [] : [arg]));
}

/** What a run gets from `benchSession`. */
export interface BenchSession {
  readonly urls: string[];
  /** The file URL of the bundle. */
  readonly colonnade: string;
  readonly startedHere: boolean;
}

/**
 * Runs `run` against the local cluster of `engine` with colonnade bundled; afterwards (or on
 * SIGINT, after `onInterrupt`) removes the bundle and stops the cluster if it started it.
 *
 * @example
 * await benchSession('18.16', async ({ urls, colonnade }) => { ... });
 */
export async function benchSession(engine: '18.16' | 'modern', run: (session: BenchSession) => Promise<void>, onInterrupt: (session: BenchSession) => Promise<void> = async () => undefined): Promise<void> {
  const { start, status, stop } = engine === 'modern' ? modern : legacy;
  const before = await status();
  const startedHere = !before.running && !before.partial;
  const cluster = before.running ? before : await start();
  const session: BenchSession = { urls: cluster.servers.map((s) => s.url), colonnade: await bundleColonnade(), startedHere };
  // Interrupted, it still stops a cluster it started (the workers get the same SIGINT).
  process.once('SIGINT', () => {
    rmSync(fileURLToPath(session.colonnade), { force: true });
    void onInterrupt(session).catch(() => undefined).then(() => (startedHere ? stop() : undefined)).finally(() => process.exit(130));
  });
  try {
    await run(session);
  } finally {
    rmSync(fileURLToPath(session.colonnade), { force: true });
    if (startedHere) {
      await stop();
      console.log('(stopped the cluster this run started)');
    }
  }
}
