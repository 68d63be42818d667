/**
 * Where the values of typed placeholders travel: in the URL as `param_<name>=` when they
 * all fit there (the query stays the POST body), else as fields of a multipart/form-data
 * body together with the query. The limits are ClickHouse's defaults, measured on 26.7:
 * the server reads each URL value and each form field through one HTML-form reader.
 */
import { QueryParamError } from './errors.js';

/** `http_max_uri_size`: the longest request path with its query string, in bytes. */
export const MAX_URI_BYTES = 1_048_576;
/** `http_max_field_value_size`: the longest value of one URL key or form field, in bytes (as sent: percent-encoded in the URL). */
export const MAX_FIELD_BYTES = 131_072;
/** `http_max_fields`: most keys in the URL, and most fields in a form. */
export const MAX_FIELDS = 1_000;

/**
 * What `send` is given for a request with typed parameters.
 *
 * @example
 * const r: ParamRequest = { path: '/?database=default&param_n=41', body: 'SELECT {n:UInt8}' };
 */
export interface ParamRequest {
  readonly path: string;
  readonly body: string;
  /** Set for a multipart body. */
  readonly contentType?: string;
}

/**
 * Refuses, before anything is sent, a value no request can carry: longer than one field
 * (`MAX_FIELD_BYTES`) even as raw UTF-8, so neither in the URL nor in a form; or more
 * values than a form takes.
 *
 * @example
 * checkParamSizes({ s: 'x'.repeat(200_000) }); // throws QueryParamError naming s and the limit
 */
export function checkParamSizes(values: Readonly<Record<string, string>>): void {
  const names = Object.keys(values);
  if (names.length > MAX_FIELDS - 1) {
    throw new QueryParamError(names[MAX_FIELDS - 1] as string, `the query has ${names.length} typed parameters; ClickHouse reads at most ${MAX_FIELDS - 1} with the query (http_max_fields ${MAX_FIELDS})`);
  }
  for (const name of names) {
    const text = values[name] as string;
    // A UTF-16 unit is at most 3 UTF-8 bytes: only a text that may be too long is measured.
    if (text.length * 3 <= MAX_FIELD_BYTES) continue;
    const bytes = Buffer.byteLength(text, 'utf8');
    if (bytes > MAX_FIELD_BYTES) {
      throw new QueryParamError(name, `the value is ${bytes} bytes as sent; ClickHouse takes at most ${MAX_FIELD_BYTES} bytes per parameter `
        + '(http_max_field_value_size), in the URL or in a multipart body');
    }
  }
}

/**
 * The request for a query with typed parameters: the values in the URL after `path` when
 * each one (percent-encoded) fits a field, the whole path fits `MAX_URI_BYTES` and the keys
 * `MAX_FIELDS`; otherwise a multipart/form-data body with the query and each value as a
 * field. Throws `QueryParamError` when the URL cannot take the values and the query is too
 * long to be a field.
 *
 * @example
 * paramRequest('/?database=default', 'SELECT {n:UInt8}', { n: '1' }).path; // '/?database=default&param_n=1'
 */
export function paramRequest(path: string, body: string, values: Readonly<Record<string, string>>): ParamRequest {
  const names = Object.keys(values);
  let url = path;
  let misfit: string | undefined;
  let why = '';
  const keys = path.split('&').length + names.length;
  for (const name of names) {
    const encoded = encodeURIComponent(values[name] as string);
    if (encoded.length > MAX_FIELD_BYTES) {
      [misfit, why] = [name, `its value is ${encoded.length} bytes percent-encoded in the URL, over http_max_field_value_size (${MAX_FIELD_BYTES})`];
      break;
    }
    url += `&param_${name}=${encoded}`;
    if (url.length > MAX_URI_BYTES) {
      [misfit, why] = [name, `the URL grows past http_max_uri_size (${MAX_URI_BYTES} bytes) with it`];
      break;
    }
  }
  if (misfit === undefined && keys > MAX_FIELDS) [misfit, why] = [names[0] as string, `the URL would have ${keys} keys, over http_max_fields (${MAX_FIELDS})`];
  if (misfit === undefined) return { path: url, body };

  const queryBytes = Buffer.byteLength(body, 'utf8');
  if (queryBytes > MAX_FIELD_BYTES) {
    throw new QueryParamError(misfit, `does not fit in the URL (${why}), and in a multipart body the query is a field too, `
      + `but this query is ${queryBytes} bytes, over http_max_field_value_size (${MAX_FIELD_BYTES}): send smaller values or a shorter query`);
  }
  const fields: [string, string][] = [['query', body], ...names.map((n): [string, string] => [`param_${n}`, values[n] as string])];
  const boundary = boundaryFor(fields);
  let form = '';
  for (const [key, value] of fields) form += `--${boundary}\r\nContent-Disposition: form-data; name="${key}"\r\n\r\n${value}\r\n`;
  form += `--${boundary}--\r\n`;
  return { path, body: form, contentType: `multipart/form-data; boundary=${boundary}` };
}

// The same fields give the same boundary (and bytes) every time: a fixed text, made longer
// in the rare case a value holds it.
function boundaryFor(fields: readonly (readonly [string, string])[]): string {
  let boundary = 'colonnade-param-boundary-7f3a';
  for (let n = 0; fields.some(([, v]) => v.includes(boundary)); n++) boundary = `colonnade-param-boundary-7f3a-${n.toString(36)}`;
  return boundary;
}
