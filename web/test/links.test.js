import assert from 'node:assert/strict';
import { test } from 'node:test';
import { splitLinks } from '../js/ui/links.js';

test('plain text has no links', () => {
  assert.deepEqual(splitLinks('hello there'), [{ text: 'hello there' }]);
  assert.deepEqual(splitLinks(''), []);
});

test('http and https links are found with the text around them', () => {
  assert.deepEqual(splitLinks('see https://example.org/a?b=1#c now'), [
    { text: 'see ' }, { text: 'https://example.org/a?b=1#c', href: 'https://example.org/a?b=1#c' }, { text: ' now' },
  ]);
  assert.deepEqual(splitLinks('HTTP://Example.org'), [{ text: 'HTTP://Example.org', href: 'http://example.org/' }]);
  assert.deepEqual(splitLinks('www.example.org/x'), [{ text: 'www.example.org/x', href: 'https://www.example.org/x' }]);
});

test('sentence punctuation and unopened brackets stay outside', () => {
  assert.deepEqual(splitLinks('(see https://x.org/a).'), [
    { text: '(see ' }, { text: 'https://x.org/a', href: 'https://x.org/a' }, { text: ').' },
  ]);
  assert.equal(splitLinks('https://en.wikipedia.org/wiki/A_(b)')[0].text, 'https://en.wikipedia.org/wiki/A_(b)');
  assert.deepEqual(splitLinks('看这个https://x.org/文档。'), [
    { text: '看这个' }, { text: 'https://x.org/文档', href: 'https://x.org/%E6%96%87%E6%A1%A3' }, { text: '。' },
  ]);
});

test('nothing but http and https becomes a link', () => {
  for (const text of ['javascript:alert(1)', 'data:text/html,<b>x</b>', 'file:///etc/passwd',
    'vbscript:x', 'https://', 'mailto:a@b.c', 'JaVaScRiPt://%0Aalert(1)']) {
    assert.ok(splitLinks(text).every((p) => !p.href), text);
  }
});

test('the parts join to the original text', () => {
  for (const text of ['a https://x.org b https://y.org/c, d', 'https://a.b/(c)) x', '<https://x.org>']) {
    assert.equal(splitLinks(text).map((p) => p.text).join(''), text);
  }
});
