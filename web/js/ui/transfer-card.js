// A file transfer's card in `#transfers` (docs/web-test-contract.md): its buttons,
// progress bar and status in words. The transfers themselves are in p2p/files.js.

import { t as tr } from '../i18n/i18n.js';

/** @import { Transfer, TransferState } from '../p2p/files.js' */

/** @param {number} n */
export function formatBytes(n) {
  if (n < 1024) return `${n} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[i]}`;
}

/**
 * What a transfer card needs from the transfers: the buttons' actions and peer names.
 * @typedef {object} CardContext
 * @property {HTMLElement} tray the `#transfers` list
 * @property {HTMLTemplateElement} template
 * @property {(peerId: string) => string} nameOf
 * @property {(t: Transfer) => void} accept
 * @property {(t: Transfer) => void} decline
 * @property {(t: Transfer) => void} cancel
 * @property {(t: Transfer) => void} save
 * @property {(t: Transfer) => void} dismiss
 */

/**
 * Creates (once) and updates a transfer's card in the tray.
 * @param {Transfer} t
 * @param {CardContext} ctx
 */
export function renderTransfer(t, ctx) {
  if (!t.card) {
    const frag = /** @type {DocumentFragment} */ (ctx.template.content.cloneNode(true));
    const card = /** @type {HTMLElement} */ (frag.querySelector('.transfer'));
    card.dataset.transferId = t.id;
    card.dataset.direction = t.direction;
    card.dataset.peerId = t.peerId;
    const on = (/** @type {string} */ sel, /** @type {() => void} */ fn) =>
      /** @type {HTMLElement} */ (card.querySelector(sel)).addEventListener('click', fn);
    on('.accept', () => ctx.accept(t));
    on('.decline', () => ctx.decline(t));
    on('.cancel', () => ctx.cancel(t));
    on('.save', () => ctx.save(t));
    on('.dismiss', () => ctx.dismiss(t));
    t.card = card;
    ctx.tray.prepend(card);
    ctx.tray.hidden = false;
  }
  const card = t.card;
  card.dataset.state = t.state;
  const who = ctx.nameOf(t.peerId);
  const q = (/** @type {string} */ sel) => /** @type {HTMLElement} */ (card.querySelector(sel));
  q('.transfer-name').textContent = t.name;
  q('.transfer-name').title = t.name;
  q('.transfer-peer').textContent = tr(t.direction === 'send' ? 'files.to' : 'files.from', { name: who });
  q('.accept').hidden = !(t.direction === 'receive' && t.state === 'offered');
  q('.decline').hidden = !(t.direction === 'receive' && t.state === 'offered');
  q('.cancel').hidden = !['offered', 'sending', 'receiving', 'verifying'].includes(t.state) ||
    (t.direction === 'receive' && t.state === 'offered');
  q('.save').hidden = !(t.state === 'done' && t.blob);
  q('.dismiss').hidden = !['done', 'failed', 'cancelled', 'declined'].includes(t.state);
  renderTransferProgress(t, ctx.nameOf);
}

/**
 * Updates a card's progress bar and status words.
 * @param {Transfer} t
 * @param {(peerId: string) => string} nameOf
 */
export function renderTransferProgress(t, nameOf) {
  const card = t.card;
  if (!card) return;
  const pct = t.size === 0 ? (t.state === 'done' ? 100 : 0) : Math.floor((Math.max(0, t.bytes) / t.size) * 100);
  const bar = /** @type {HTMLProgressElement} */ (card.querySelector('progress'));
  bar.value = pct;
  card.dataset.progress = String(pct);
  /** @type {Record<TransferState, string>} */
  const words = {
    offered: t.direction === 'send' ? tr('files.waiting', { name: nameOf(t.peerId) }) : tr('files.offered'),
    sending: tr('files.progress', { percent: String(pct), done: formatBytes(Math.max(0, t.bytes)), size: formatBytes(t.size) }),
    receiving: tr('files.progress', { percent: String(pct), done: formatBytes(t.bytes), size: formatBytes(t.size) }),
    verifying: t.direction === 'receive' ? tr('files.saving') : tr('files.checking', { name: nameOf(t.peerId) }),
    done: t.reason ?? tr('files.done'),
    failed: t.reason ?? tr('files.failed'),
    cancelled: t.reason ?? tr('files.cancelled'),
    declined: t.reason ?? tr('files.declined'),
  };
  /** @type {HTMLElement} */ (card.querySelector('.transfer-status')).textContent =
    t.state === 'offered' ? tr('files.offer_line', { size: formatBytes(t.size), words: words.offered }) : words[t.state];
}
