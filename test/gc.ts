// The garbage collector, for the tests that check what is still held on to.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

setFlagsFromString('--expose-gc');
/** A full collection, now. */
export const gc = runInNewContext('gc') as () => void;

/** Heap and external bytes still held after two full collections. */
export function heldBytes(): number {
  gc();
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.external;
}
