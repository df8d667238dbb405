// Checks a person would make with their eyes and fingers, run inside the page: text
// contrast (WCAG 2.x AA), touch target size, and controls that the keyboard can reach
// while nothing shows them. Each returns the offenders, so a failing assertion names them.

/**
 * Visible text whose contrast with what is behind it is under WCAG AA: 4.5:1, or 3:1 for
 * large text (24 px, or 18.66 px bold). The background is the first opaque one up the
 * tree (translucent layers are blended over it; a gradient counts as its element's
 * background colour); text over an image or video is skipped, as is disabled controls'
 * text (WCAG exempts it).
 * @param {import('playwright-core').Page} page
 * @param {string} [root] a selector to audit under (default the body)
 * @returns {Promise<{text: string, ratio: number, fg: string, bg: string, where: string}[]>}
 */
export function lowContrast(page, root = 'body') {
  return page.evaluate((rootSel) => {
    /** @param {string} c @returns {number[]} r, g, b, a */
    const parse = (c) => {
      const m = c.match(/rgba?\(([^)]+)\)/);
      if (!m) return [0, 0, 0, 0];
      const p = m[1].split(/[ ,/]+/).filter(Boolean).map(Number);
      return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
    };
    /** @param {number[]} top @param {number[]} under */
    const blend = (top, under) => {
      const a = top[3];
      return [0, 1, 2].map((i) => top[i] * a + under[i] * (1 - a)).concat(1);
    };
    /** @param {number[]} c */
    const luminance = (c) => {
      const [r, g, b] = c.slice(0, 3).map((v) => {
        const s = v / 255;
        return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
      });
      return 0.2126 * r + 0.7152 * g + 0.0722 * b;
    };
    /** @param {Element} el @returns {number[] | null} null: an image or gradient is behind */
    const background = (el) => {
      /** @type {number[][]} */
      const layers = [];
      for (let e = /** @type {Element | null} */ (el); e; e = e.parentElement) {
        const s = getComputedStyle(e);
        // A picture behind the text cannot be judged; our gradients are faint washes over
        // the element's own colour, which stands in for them.
        if (s.backgroundImage.includes('url(')) return null;
        if (e instanceof HTMLVideoElement || e instanceof HTMLImageElement) return null;
        const c = parse(s.backgroundColor);
        if (c[3] > 0) layers.push(c);
        if (c[3] >= 1) break;
      }
      let color = [255, 255, 255, 1];
      for (const layer of layers.reverse()) color = blend(layer, color);
      return color;
    };
    /** @param {Element} el */
    const where = (el) => {
      const id = el.closest('[id]')?.id;
      return `${el.tagName.toLowerCase()}${el.className && typeof el.className === 'string' ? '.' + el.className.trim().split(/\s+/).join('.') : ''}${id ? ' in #' + id : ''}`;
    };
    const out = [];
    const rootEl = document.querySelector(rootSel) ?? document.body;
    const walker = document.createTreeWalker(rootEl, NodeFilter.SHOW_TEXT);
    const seen = new Set();
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      const el = n.parentElement;
      if (!el || seen.has(el) || !n.textContent?.trim()) continue;
      seen.add(el);
      if (el.closest('svg, [aria-hidden="true"], .visually-hidden')) continue;
      if (el.closest('button:disabled, input:disabled, select:disabled, [aria-disabled="true"]')) continue;
      const box = el.getBoundingClientRect();
      if (box.width < 1 || box.height < 1 || !el.checkVisibility({ opacityProperty: true, visibilityProperty: true })) continue;
      const s = getComputedStyle(el);
      const bg = background(el);
      if (!bg) continue;
      let opacity = 1;
      for (let e = /** @type {Element | null} */ (el); e; e = e.parentElement) opacity *= Number(getComputedStyle(e).opacity);
      const fgRaw = parse(s.color);
      const fg = blend([fgRaw[0], fgRaw[1], fgRaw[2], fgRaw[3] * opacity], bg);
      const [l1, l2] = [luminance(fg), luminance(bg)].sort((a, b) => b - a);
      const ratio = (l1 + 0.05) / (l2 + 0.05);
      const size = parseFloat(s.fontSize);
      const bold = Number(s.fontWeight) >= 700;
      const need = size >= 24 || (bold && size >= 18.66) ? 3 : 4.5;
      if (ratio < need - 0.005) {
        out.push({ text: n.textContent.trim().slice(0, 40), ratio: Math.round(ratio * 100) / 100,
          fg: s.color, bg: `rgb(${bg.slice(0, 3).map(Math.round).join(', ')})`, where: where(el) });
      }
    }
    return out;
  }, root);
}

/**
 * Visible controls smaller than `min` CSS pixels in either direction (WCAG 2.5.5 asks
 * 44). Inline links inside text are exempt, as WCAG allows.
 * @param {import('playwright-core').Page} page
 * @param {number} [min]
 * @returns {Promise<{what: string, width: number, height: number}[]>}
 */
export function smallTargets(page, min = 44) {
  return page.evaluate((least) => {
    const out = [];
    for (const el of document.querySelectorAll('button, a[href], input, select, textarea, summary, [role="button"]')) {
      if (el.closest('.chat-text')) continue;
      if (!el.checkVisibility({ opacityProperty: true, visibilityProperty: true })) continue;
      const r = el.getBoundingClientRect();
      if (r.width < 1 || r.height < 1) continue;
      // A control inside a bigger clickable label counts as that label.
      const label = el.closest('label');
      const box = label && el instanceof HTMLInputElement ? label.getBoundingClientRect() : r;
      if (box.width + 0.5 < least || box.height + 0.5 < least) {
        const id = el.id || el.closest('[id]')?.id || '';
        out.push({ what: `${el.tagName.toLowerCase()}${el.className ? '.' + String(el.className).split(' ')[0] : ''} #${id} "${(el.getAttribute('aria-label') ?? el.textContent ?? '').trim().slice(0, 30)}"`,
          width: Math.round(box.width), height: Math.round(box.height) });
      }
    }
    return out;
  }, min);
}

/**
 * Presses Tab `presses` times from the top of the page and lists the elements that took
 * focus while not visible (nothing on screen shows where the focus went).
 * @param {import('playwright-core').Page} page
 * @param {number} [presses]
 * @returns {Promise<string[]>}
 */
export async function invisibleFocus(page, presses = 40) {
  await page.evaluate(() => /** @type {HTMLElement | null} */ (document.activeElement)?.blur());
  const out = [];
  for (let i = 0; i < presses; i++) {
    await page.keyboard.press('Tab');
    const hit = await page.evaluate(() => {
      const el = document.activeElement;
      if (!el || el === document.body) return null;
      const r = el.getBoundingClientRect();
      const shown = el.checkVisibility({ opacityProperty: true, visibilityProperty: true }) && r.width > 0 && r.height > 0;
      return shown ? null : `${el.tagName.toLowerCase()}#${el.id || el.closest('[id]')?.id || '?'}`;
    });
    if (hit) out.push(hit);
  }
  return [...new Set(out)];
}

/**
 * How many CSS pixels of `peerId`'s picture (the video as drawn, inside its tile's
 * letterbox) our own tile covers.
 * @param {import('playwright-core').Page} page
 * @param {string} peerId
 * @returns {Promise<number>}
 */
export function selfOverPicture(page, peerId) {
  return page.evaluate((id) => {
    const video = /** @type {HTMLVideoElement | null} */ (document.querySelector(`.tile.remote[data-peer-id="${id}"] video`));
    const self = document.querySelector('.tile.self');
    if (!video || !self || !video.videoWidth) return -1;
    const r = video.getBoundingClientRect();
    // object-fit: contain: the picture is scaled to fit and centred.
    const scale = Math.min(r.width / video.videoWidth, r.height / video.videoHeight);
    const [w, h] = [video.videoWidth * scale, video.videoHeight * scale];
    const pic = { left: r.left + (r.width - w) / 2, top: r.top + (r.height - h) / 2, right: 0, bottom: 0 };
    pic.right = pic.left + w;
    pic.bottom = pic.top + h;
    const s = self.getBoundingClientRect();
    const x = Math.max(0, Math.min(pic.right, s.right) - Math.max(pic.left, s.left));
    const y = Math.max(0, Math.min(pic.bottom, s.bottom) - Math.max(pic.top, s.top));
    return Math.round(x * y);
  }, peerId);
}
