/** How a complete HTTP answer is read as a ClickHouse answer: refusals become errors. */
import { ClickHouseError, ProtocolError, TransportError, findExceptionBlock, findTrailingError, parseServerError } from './errors.js';
import type { RawResponse } from './http.js';

/**
 * Throws for a refusal that no data can fake: an error status (a gateway's 502, 503 or 504
 * page: `TransportError`), the exception header, the
 * exception block a modern server frames with the response's own random tag. Returns the
 * body text, whose end may still hold an 18.16-style exception (see `checkResponse`).
 *
 * @example
 * const text = checkStatus(await send(transport, server, options));
 */
export function checkStatus(res: RawResponse): string {
  if (res.status !== 200) {
    const info = parseServerError(res.body, res.headers['x-clickhouse-exception-code']);
    if (info) throw new ClickHouseError(info, res.status);
    const page = `HTTP ${res.status} with a body that is no ClickHouse error: ${JSON.stringify(res.body.slice(0, 200))}`;
    // A gateway in front of the server (a proxy, a load balancer) could not get its answer:
    // the server is out of reach as if the network failed, and whether it got the request
    // is unknown (a read goes to another server; the pool counts it against this one).
    if (res.status >= 502 && res.status <= 504) throw new TransportError(`the server did not answer: ${page}`, true);
    throw new ProtocolError(page, res.status);
  }
  const headerCode = res.headers['x-clickhouse-exception-code'];
  if (headerCode !== undefined) {
    const info = parseServerError(res.body.slice(Math.max(0, res.body.lastIndexOf('\nCode: ') + 1)), headerCode);
    if (info) throw new ClickHouseError(info, res.status);
  }
  const tag = res.headers['x-clickhouse-exception-tag'];
  const block = tag === undefined ? undefined : findExceptionBlock(res.body, tag);
  if (block) throw new ClickHouseError(block, res.status);
  return res.body;
}

/**
 * `checkStatus`, and an exception in the server's plain form at the end of the body: for
 * the answers to writes and to the client's own questions, which hold no such data.
 *
 * @example
 * const text = checkResponse(await send(transport, server, { method: 'POST', path, body: 'SYSTEM FLUSH LOGS', timeout: 1_000 }));
 */
export function checkResponse(res: RawResponse): string {
  const text = checkStatus(res);
  const trailing = findTrailingError(text);
  if (trailing) throw new ClickHouseError(trailing, res.status);
  return text;
}
