// Right-to-left names inside notices are isolated (web/js/ui/bidi.js); the text is unchanged.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isolatedRuns } from '../js/ui/bidi.js';

test('a right-to-left name in a sentence is a run of its own; the text is unchanged', () => {
  const text = 'مريم joined, then Bob and דנה left';
  const runs = isolatedRuns(text, ['Bob', 'مريم', 'דנה']);
  assert.deepEqual(runs, [
    { text: 'مريم', isolate: true },
    { text: ' joined, then Bob and ', isolate: false },
    { text: 'דנה', isolate: true },
    { text: ' left', isolate: false },
  ]);
  assert.equal(runs.map((r) => r.text).join(''), text);
});

test('left-to-right names and sentences without names are left as they are', () => {
  assert.deepEqual(isolatedRuns('Bob joined', ['Bob', 'Alice']), [{ text: 'Bob joined', isolate: false }]);
  assert.deepEqual(isolatedRuns('张三加入了', ['张三']), [{ text: '张三加入了', isolate: false }]);
  assert.deepEqual(isolatedRuns('', ['مريم']), []);
});
