import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DriftError } from '../../src/domain/errors.js';
import {
  etagMatches,
  parseContentLength,
  parseEtag,
  parseIdempotencyKey,
  parseKey,
  parseLimit,
  parsePrecondition,
  parseQuery,
  parseValue,
  prefersAsync,
} from '../../src/http/request.js';

const refused = (code: string) => (error: unknown) => error instanceof DriftError && error.code === code;

describe('parseKey', () => {
  test('percent-decodes, keeps slashes, and takes %2F as /', () => {
    assert.equal(parseKey('hello', 1024), 'hello');
    assert.equal(parseKey('a/b/c', 1024), 'a/b/c');
    assert.equal(parseKey('a%2Fb', 1024), 'a/b');
    assert.equal(parseKey('%C3%A9t%C3%A9%20%F0%9F%98%80', 1024), 'été 😀');
    assert.equal(parseKey('a+b', 1024), 'a+b', 'a plus in a path is a plus');
    assert.equal(parseKey('%EF%BF%BD', 1024), '\uFFFD', 'an encoded U+FFFD is a key like any other');
  });

  test('refuses malformed or non-UTF-8 percent-encoding', () => {
    for (const raw of ['%', '%z1', 'a%zz', '%E0%A4%A', '%FF', '%ED%A0%80', '%C0%AF']) {
      assert.throws(() => parseKey(raw, 1024), refused('invalid_key'), raw);
    }
  });

  test('refuses a raw U+FFFD, which is what an invalid byte in the URL turns into', () => {
    assert.throws(() => parseKey('a\uFFFDb', 1024), refused('invalid_key'));
  });

  test('refuses an empty key', () => {
    assert.throws(() => parseKey('', 1024), refused('invalid_key'));
  });

  test('counts the limit in UTF-8 bytes, not characters', () => {
    assert.equal(parseKey('k'.repeat(1024), 1024).length, 1024);
    assert.throws(() => parseKey('k'.repeat(1025), 1024), refused('invalid_key'));
    assert.equal(parseKey('%C3%A9'.repeat(5), 10), 'ééééé');
    assert.throws(() => parseKey('%C3%A9'.repeat(5) + 'x', 10), refused('invalid_key'));
  });

  test('refuses C0, DEL and C1 control characters', () => {
    for (const raw of ['a%00b', '%0A', 'tab%09', '%1F', '%7F', '%C2%80', '%C2%9F']) {
      assert.throws(() => parseKey(raw, 1024), refused('invalid_key'), raw);
    }
    assert.equal(parseKey('%C2%A0', 1024), '\u00a0', 'a no-break space is printable');
  });
});

describe('parseValue', () => {
  test('returns the body as UTF-8 text, empty included', () => {
    assert.equal(parseValue(Buffer.from('')), '');
    assert.equal(parseValue(Buffer.from('a=b&c=%20 😀')), 'a=b&c=%20 😀');
    assert.equal(parseValue(Buffer.from('\uFEFFbom')), '\uFEFFbom', 'a byte-order mark is kept');
  });

  test('refuses invalid UTF-8', () => {
    for (const bytes of [[0xff], [0xc3], [0xed, 0xa0, 0x80], [0xc0, 0xaf], [0x61, 0x80]]) {
      assert.throws(() => parseValue(Buffer.from(bytes)), refused('invalid_value'), String(bytes));
    }
  });

  test('refuses U+0000', () => {
    assert.throws(() => parseValue(Buffer.from('a\u0000b')), refused('invalid_value'));
  });
});

describe('parseQuery', () => {
  test('decodes names and values, + as space, last one wins', () => {
    const q = parseQuery('prefix=a%2Fb+c&limit=5&flag&limit=7&&after=');
    assert.equal(q.get('prefix'), 'a/b c');
    assert.equal(q.get('limit'), '7');
    assert.equal(q.get('flag'), '');
    assert.equal(q.get('after'), '');
    assert.equal(parseQuery('').size, 0);
  });

  test('refuses malformed escapes in names or values', () => {
    for (const raw of ['prefix=%zz', '%zz=1', 'a=%', 'a=%FF', 'a=\uFFFD']) {
      assert.throws(() => parseQuery(raw), refused('invalid_query'), raw);
    }
  });
});

describe('parseLimit', () => {
  test('defaults when absent, accepts 1..max', () => {
    assert.equal(parseLimit(undefined, 100, 1000), 100);
    assert.equal(parseLimit('', 100, 1000), 100);
    assert.equal(parseLimit('1', 100, 1000), 1);
    assert.equal(parseLimit('1000', 100, 1000), 1000);
  });

  test('refuses anything else', () => {
    for (const raw of ['0', '1001', '-1', '1.5', 'abc', '1e2', ' 5', '0x10', '99999999999999999999']) {
      assert.throws(() => parseLimit(raw, 100, 1000), refused('invalid_query'), raw);
    }
  });
});

describe('preconditions and entity tags', () => {
  test('If-Match: "<revision>", * and If-None-Match: *', () => {
    assert.equal(parsePrecondition('', ''), undefined);
    assert.deepEqual(parsePrecondition('"12"', ''), { kind: 'revision', revision: 12 });
    assert.deepEqual(parsePrecondition(' 12 ', ''), { kind: 'revision', revision: 12 });
    assert.deepEqual(parsePrecondition('*', ''), { kind: 'exists' });
    assert.deepEqual(parsePrecondition('', '*'), { kind: 'absent' });
  });

  test('refuses bad or conflicting headers', () => {
    for (const [ifMatch, ifNoneMatch] of [['abc', ''], ['"1", "2"', ''], ['W/"1"', ''], ['"-1"', ''], ['', '"3"'], ['*', '*'], ['"1"', '*']]) {
      assert.throws(() => parsePrecondition(ifMatch!, ifNoneMatch!), refused('invalid_header'), `${ifMatch} / ${ifNoneMatch}`);
    }
  });

  test('a GET If-None-Match matches a list, a weak tag, or *', () => {
    assert.equal(etagMatches('"3"', 3), true);
    assert.equal(etagMatches('"2", "3"', 3), true);
    assert.equal(etagMatches('W/"3"', 3), true);
    assert.equal(etagMatches('*', 3), true);
    assert.equal(etagMatches('"2"', 3), false);
    assert.equal(etagMatches('garbage', 3), false);
    assert.equal(parseEtag('"1234567890123456"'), undefined, 'longer than any revision we hand out');
  });
});

describe('other headers', () => {
  test('Idempotency-Key: 1..200 visible ASCII characters', () => {
    assert.equal(parseIdempotencyKey(''), undefined);
    assert.equal(parseIdempotencyKey('retry-7f3a'), 'retry-7f3a');
    assert.equal(parseIdempotencyKey('x'.repeat(200)), 'x'.repeat(200));
    for (const raw of ['x'.repeat(201), 'has space', 'tab\t', 'é']) {
      assert.throws(() => parseIdempotencyKey(raw), refused('invalid_header'), raw);
    }
  });

  test('Content-Length is a plain decimal', () => {
    assert.equal(parseContentLength(''), undefined);
    assert.equal(parseContentLength('0'), 0);
    assert.equal(parseContentLength('1048577'), 1048577);
    for (const raw of ['abc', '-1', '1.0', '12345678901234567']) {
      assert.throws(() => parseContentLength(raw), refused('invalid_header'), raw);
    }
  });

  test('Prefer: respond-async among other preferences', () => {
    assert.equal(prefersAsync('respond-async'), true);
    assert.equal(prefersAsync('return=minimal, Respond-Async'), true);
    assert.equal(prefersAsync(''), false);
    assert.equal(prefersAsync('wait=5'), false);
  });
});
