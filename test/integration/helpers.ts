// Shared by the integration suites: waits for conditions bounded by deadlines (the machine
// is shared and slow at times, so no test relies on a fixed timing window), plain SQL on one
// server of the cluster (not through our client), and the password-leak check.
import { assertNoSecret } from '../secrets.js';
import * as assert from 'uvu/assert';
import { clusterInfo, PASSWORD } from './cluster.js';

export const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Polls `check` every `every` ms until it returns true, or fails the test when `timeout`
 * ms have passed. Returns how long it took.
 */
export async function until(what: string, check: () => boolean | Promise<boolean>, timeout = 15_000, every = 25): Promise<number> {
  const t0 = Date.now();
  for (;;) {
    if (await check()) return Date.now() - t0;
    if (Date.now() - t0 > timeout) assert.unreachable(`gave up after ${timeout} ms waiting for: ${what}`);
    await pause(every);
  }
}

/** Plain HTTP to server `i` of the local cluster, as user default. */
export async function sql(i: number, text: string, timeoutMs = 60_000): Promise<string> {
  const port = clusterInfo().servers[i]!.httpPort;
  const res = await fetch(`http://127.0.0.1:${port}/`, { method: 'POST', body: text, signal: AbortSignal.timeout(timeoutMs) });
  const body = await res.text();
  if (res.status !== 200) throw new Error(`server ${i}: HTTP ${res.status}: ${body}`);
  return body;
}

/** Every server of the local cluster, by index. */
export const allServers = (): number[] => clusterInfo().servers.map((_, i) => i);

/** The password of the cluster's `colonnade` user in each form it could leak in. */
export const PASSWORD_FORMS: readonly string[] = [PASSWORD, encodeURIComponent(PASSWORD), PASSWORD.split(':')[0] as string];

/** Fails when any form of the password shows anywhere in `value` (see `visibleText` in test/secrets.ts). */
export function assertNoPassword(value: unknown, what: string): void {
  assertNoSecret(value, PASSWORD_FORMS, what);
}
