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
