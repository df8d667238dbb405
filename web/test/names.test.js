// Names are refused with format characters (mirroring crates/proto) and rendered
// isolated (web/css/base.css).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { nameError } from '../js/net/rules.js';

test('names with bidi overrides or zero-width characters are refused', () => {
  for (const bad of ['Ada\u202eevil', 'A\u200bda', '\u2067Ada', 'Ada\ufeffx', 'Ad\u00ada', 'A\u200dda', '\u200cمریم']) {
    assert.equal(nameError(bad)?.key, 'name.format', JSON.stringify(bad));
  }
  // Joiners that scripts and emoji need stay (a Persian ZWNJ, a family emoji's ZWJs).
  const kept = ['می\u200cخواهم', '\u{1F468}\u200d\u{1F469}\u200d\u{1F467} Ada'];
  for (const good of ['Ada', 'أحمد', 'שרה', '李雷', 'Zoë', ...kept]) assert.equal(nameError(good), null, good);
});

test('every element that shows a name is bidi-isolated', () => {
  const css = readFileSync(new URL('../css/base.css', import.meta.url), 'utf8').replace(/\/\*[\s\S]*?\*\//g, '');
  const rule = css.match(/([^{}]+)\{\s*unicode-bidi:\s*isolate;\s*\}/);
  assert.ok(rule, 'an isolate rule');
  const selectors = rule[1].split(',').map((s) => s.trim());
  for (const s of ['.peer-name', '#me-name', '.chat-name']) assert.ok(selectors.includes(s), s);
});
