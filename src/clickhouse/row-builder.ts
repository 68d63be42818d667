/**
 * Row objects built by a function compiled once per result header: an object literal with
 * every column at once (`{ "id": f[0](c[0]), "name": f[1](c[1]) }`) gives V8 one shape with
 * the values in the object itself, where adding the columns one by one grows a separate
 * property store per row. Values are read in column order, which the binary decoder needs.
 */
import { BoundedCache } from './bounded-cache.js';
import type { Row } from './types.js';

/**
 * Builds one row from per-column readers `f` and the row's input `c`: for text, `c` holds
 * the row's cells (`f[i](c[i])`); for binary, `c` is the cursor all readers share (`f[i](c)`).
 *
 * @example
 * const build = rowBuilder(['id', 'name'], 'cells');
 * build([Number, String], ['1', 'Ann']); // { id: 1, name: 'Ann' }
 */
export type RowBuild<C> = (f: readonly ((input: never) => unknown)[], c: C) => Row;

const builders = new BoundedCache<RowBuild<unknown>>({ maxEntries: 256, maxKeyLength: 4_096, maxChars: 256 * 1024 });

/**
 * The compiled row builder for columns `names`, reading cells (`'cells'`) or a shared cursor (`'cursor'`).
 *
 * @example
 * rowBuilder(['x'], 'cursor')([(r: { n: number }) => r.n++], { n: 7 }); // { x: 7 }
 */
export function rowBuilder<C>(names: readonly string[], input: 'cells' | 'cursor'): RowBuild<C> {
  // JSON: a column name may hold any character, so no separator could be trusted.
  const key = JSON.stringify([input, names]);
  let build = builders.get(key);
  if (build === undefined) {
    const fields = names.map((name, i) => {
      // A `__proto__` key in a literal would set the prototype; a computed one is a plain property.
      const literal = name === '__proto__' ? '["__proto__"]' : JSON.stringify(name);
      return `${literal}: f[${i}](${input === 'cells' ? `c[${i}]` : 'c'})`;
    });
    // eslint-disable-next-line @typescript-eslint/no-implied-eval -- the point: one literal per header.
    build = new Function('f', 'c', `return {${fields.join(', ')}};`) as RowBuild<unknown>;
    builders.set(key, build);
  }
  return build as RowBuild<C>;
}
