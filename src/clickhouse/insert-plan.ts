/**
 * The fast form of one big statement of an insert: RowBinaryWithNamesAndTypes for a server
 * that reads it (22.1+), TabSeparated for one before, when every row gives values of their
 * columns' plain forms; otherwise none, and the statement goes as JSONEachRow.
 */
import { type ColumnTypes, binaryPlan } from './encode-binary.js';
import type { InsertPlan } from './encode-compiled.js';
import { columnsOf } from './encode-bytes.js';
import { tsvPlan } from './encode-tsv.js';
import { insertHead } from './prepare.js';
import type { InsertGroup, Row } from './types.js';

/**
 * The plan for `group`'s rows into `table` (quoted), in binary or as TabSeparated, when each
 * of them fits it (every value checked, before any byte is sent); `undefined` otherwise.
 * A group whose rows fit is in range for every column too: the checks of the plain forms
 * hold the bounds of each integer type and of DateTime.
 *
 * @example
 * const plan = fastPlan('`t`', group, schema.types, false); // TabSeparated, for 18.16
 */
export function fastPlan(table: string, group: InsertGroup, types: ColumnTypes, binary: boolean): InsertPlan | undefined {
  const first = group.rows[0];
  if (first === undefined) return undefined;
  const head = insertHead(table, group.columns, binary ? 'RowBinaryWithNamesAndTypes' : 'TabSeparated');
  const plan = binary ? binaryPlan(head, columnsOf(first), types) : tsvPlan(head, columnsOf(first), types);
  return plan !== undefined && group.rows.every(plan.fits) ? plan : undefined;
}
