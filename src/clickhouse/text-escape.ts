/**
 * ClickHouse's text escapes (TabSeparated values, quoted literals in type names), undone.
 * Knows nothing but strings, so every reader of text can use it.
 */

const UNESCAPES: Record<string, string> = {
  b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', '0': '\0', a: '\x07', v: '\v', e: '\x1b',
};

/**
 * Undoes ClickHouse's text escaping (`\t`, `\n`, `\\`, `\'`, `\0`, `\xHH`, ...).
 *
 * @example
 * unescapeTsv('a\\tb\\\\'); // 'a\tb\\'
 */
export function unescapeTsv(text: string): string {
  let at = text.indexOf('\\');
  if (at < 0) return text;
  let out = '';
  let from = 0;
  while (at >= 0 && at < text.length - 1) {
    out += text.slice(from, at);
    const ch = text[at + 1] as string;
    if (ch === 'x' && /^[0-9a-fA-F]{2}$/.test(text.slice(at + 2, at + 4))) {
      out += String.fromCharCode(parseInt(text.slice(at + 2, at + 4), 16));
      from = at + 4;
    } else {
      out += UNESCAPES[ch] ?? ch;
      from = at + 2;
    }
    at = text.indexOf('\\', from);
  }
  return out + text.slice(from);
}

/**
 * `text` in memory of its own. V8 keeps a cut of 13 characters or more (`body.slice(a, b)`)
 * as a view into the string it was cut from, and a string built by `+` as its pieces: a
 * value of a few rows kept from a big text result would keep the whole response alive.
 * Shorter cuts are copies already.
 *
 * @example
 * const name = ownText(body.slice(at, tab)); // body can be collected while name is kept
 */
export function ownText(text: string): string {
  // Slicing a pair flattens it first: the characters are copied into a new string, and the
  // result is a view of that copy alone. (Cheaper than a Buffer round trip; String.repeat(1)
  // and replace() return the view itself.) test/clickhouse/decode.test.ts checks that a kept
  // value lets its body go.
  return text.length < 13 ? text : (' ' + text).slice(1);
}

