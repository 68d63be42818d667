import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { BoundedCache, ownCopy } from '../../src/clickhouse/bounded-cache.js';

const test = suite('bounded-cache');

test('cache :: a key longer than maxKeyLength is never kept', () => {
  const cache = new BoundedCache<number>({ maxEntries: 10, maxKeyLength: 4, maxChars: 100 });
  cache.set('abcd', 1);
  cache.set('abcde', 2);
  assert.is(cache.get('abcd'), 1);
  assert.is(cache.get('abcde'), undefined);
  assert.is(cache.accepts('abcde'), false);
  assert.equal([cache.size, cache.chars], [1, 4]);
});

test('cache :: the oldest entries go to keep all keys under maxChars and maxEntries', () => {
  const cache = new BoundedCache<number>({ maxEntries: 3, maxKeyLength: 10, maxChars: 12 });
  for (const [i, key] of ['aaaa', 'bbbb', 'cccc'].entries()) cache.set(key, i);
  assert.equal([cache.size, cache.chars], [3, 12]);
  cache.set('dddddd', 3);
  assert.equal([cache.get('aaaa'), cache.get('bbbb'), cache.get('cccc'), cache.get('dddddd')], [undefined, undefined, 2, 3]);
  assert.equal([cache.size, cache.chars], [2, 10]);
  cache.set('e', 4);
  cache.set('f', 5);
  assert.is(cache.get('cccc'), undefined, 'maxEntries');
  assert.equal([cache.size, cache.chars], [3, 8]);
  cache.set('e', 6);
  assert.equal([cache.get('e'), cache.size, cache.chars], [6, 3, 8], 'setting a kept key again replaces it');
  cache.delete('e');
  cache.delete('e');
  assert.equal([cache.size, cache.chars], [2, 7]);
});

test('cache :: bounded however many distinct keys pass through', () => {
  const cache = new BoundedCache<string>({ maxEntries: 100, maxKeyLength: 1_000, maxChars: 10_000 });
  for (let i = 0; i < 5_000; i++) cache.set(`${i}`.padEnd(1 + (i % 1_200), 'x'), 'v');
  assert.ok(cache.chars <= 10_000 && cache.size <= 100, `${cache.chars} chars, ${cache.size} entries`);
});

test('ownCopy :: the same text, any UTF-16 included', () => {
  for (const text of ['', 'a', 'x'.repeat(100), 'пароль \u{1F600} \ud800 lone']) assert.is(ownCopy(text), text);
});

test.run();
