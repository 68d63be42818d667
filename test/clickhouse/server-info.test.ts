import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ProtocolError } from '../../src/clickhouse/errors.js';
import { featuresOf, parseVersion } from '../../src/clickhouse/server-info.js';

const test = suite('server-info');

test('parseVersion :: major and minor of the versions we test, and a clear error for text that is none', () => {
  assert.equal(parseVersion('18.16.1'), [18, 16]);
  assert.equal(parseVersion('26.7.2.1'), [26, 7]);
  assert.equal(parseVersion('24.3'), [24, 3]);
  assert.throws(() => parseVersion('Ok.'), (e: unknown) => e instanceof ProtocolError && /cannot read server version "Ok\."/.test(e.message));
});

test('featuresOf :: 18.16 has none of the modern features, 26.7 has all, and each switches at its own release', () => {
  assert.equal(featuresOf('18.16.1'), { typedParams: false, asyncInsert: false, insertDeduplicationToken: false, rowBinaryWithNamesAndTypes: false, omittedFieldDefaults: false });
  assert.equal(featuresOf('26.7.2.1'), { typedParams: true, asyncInsert: true, insertDeduplicationToken: true, rowBinaryWithNamesAndTypes: true, omittedFieldDefaults: true });
  assert.is(featuresOf('19.10.1').typedParams, false);
  assert.is(featuresOf('19.11.1').typedParams, true);
  assert.is(featuresOf('21.10.1').asyncInsert, false);
  assert.is(featuresOf('21.11.2').asyncInsert, true);
  assert.is(featuresOf('22.1.3').insertDeduplicationToken, false);
  assert.is(featuresOf('22.2.1').insertDeduplicationToken, true);
});

test('featuresOf :: RowBinaryWithNamesAndTypes is asked of 22.1 and later only, omitted fields take their DEFAULT from 20.1', () => {
  assert.is(featuresOf('21.12.4').rowBinaryWithNamesAndTypes, false);
  assert.is(featuresOf('21.1.2').rowBinaryWithNamesAndTypes, false);
  assert.is(featuresOf('22.1.3').rowBinaryWithNamesAndTypes, true);
  assert.is(featuresOf('19.17.1').omittedFieldDefaults, false);
  assert.is(featuresOf('20.1.2').omittedFieldDefaults, true);
});

test.run();
