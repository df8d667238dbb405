// The lobby renders at desktop and phone sizes; screenshots for review go to
// e2e/artifacts/<test>/.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { skipReason, startLab, waitFor } from '../lib/lab.js';

const SKIP = skipReason();

test('lobby: renders at 1280x800 and 375x740 (screenshots)', { skip: SKIP, timeout: 60_000 }, async (t) => {
  const lab = await startLab({ t, browsers: 1 });
  const [page] = lab.pages;
  const [browser] = lab.browsers;

  const sizes = [{ width: 1280, height: 800 }, { width: 375, height: 740 }];
  for (const size of sizes) {
    await page.setViewportSize(size);
    await page.goto(lab.url('/'), { timeout: 15_000 });
    await waitFor(page, () => window.confab && window.confab.state === 'lobby',
      { timeout: 10_000, message: "window.confab.state === 'lobby'" });
    assert.ok(await page.locator('#lobby').isVisible(), '#lobby visible');
    assert.ok(!(await page.locator('#room-view').isVisible()), '#room-view hidden in the lobby');
    for (const sel of ['#name', '#room', '#join']) {
      assert.ok(await page.locator(sel).isVisible(), `${sel} visible at ${size.width}x${size.height}`);
    }
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    if (overflow > 0) t.diagnostic(`horizontal overflow of ${overflow}px at ${size.width}x${size.height}`);
    await lab.screenshot(page, `lobby-${size.width}x${size.height}`);
  }
  assert.deepEqual(browser.pageErrors, [], 'no uncaught page errors');
});
