// Reactions: a picker in the call controls sends one (`react`); each `reacted` floats up
// the side of the stage with the person's name for a few seconds, and is said to screen
// readers (the lane is a polite live region). The server forwards only a fixed set, at
// the chat's rate.

import { REACTIONS } from '../net/protocol.js';
import { t } from '../i18n/i18n.js';

/** @typedef {import('../net/types.js').Reaction} Reaction */

/** What each reaction looks like. @type {Record<Reaction, string>} */
export const EMOJI = { thumbsUp: '👍', clap: '👏', laugh: '😂', heart: '❤️', party: '🎉', surprised: '😮' };

/** How long a reaction stays up, and how many at most at once. */
const SHOW_MS = 4000;
const MAX_SHOWN = 12;

/**
 * Wires the picker (`#react-menu`, opened by `#react-toggle`, or on narrow screens by
 * the "more" menu's `#menu-react`): a button per reaction, each sending it and closing
 * the picker.
 * @param {() => ({sendReact: (r: Reaction) => unknown}) | null} signaling
 */
export function setupReactions(signaling) {
  const toggle = /** @type {HTMLButtonElement | null} */ (document.getElementById('react-toggle'));
  const menu = document.getElementById('react-menu');
  const menuItem = document.getElementById('menu-react');
  if (!toggle || !menu) return;
  /** @param {boolean} open */
  const setOpen = (open) => {
    menu.hidden = !open;
    toggle.setAttribute('aria-expanded', String(open));
    if (open) /** @type {HTMLElement | null} */ (menu.querySelector('button'))?.focus();
  };
  for (const r of REACTIONS) {
    const b = document.createElement('button');
    b.type = 'button';
    b.className = 'reaction-choice';
    b.dataset.reaction = r;
    b.textContent = EMOJI[r];
    b.setAttribute('data-i18n-label', `react.${r}`);
    b.setAttribute('aria-label', t(`react.${r}`));
    b.title = t(`react.${r}`);
    b.addEventListener('click', () => {
      signaling()?.sendReact(r);
      setOpen(false);
    });
    menu.append(b);
  }
  toggle.addEventListener('click', () => setOpen(menu.hidden));
  menuItem?.addEventListener('click', () => setOpen(true));
  // A click anywhere else closes it (the openers' own clicks excepted).
  const openers = [toggle, menuItem, menu];
  document.addEventListener('click', (ev) => {
    const target = ev.target instanceof Node ? ev.target : null;
    if (!menu.hidden && !openers.some((o) => o && target && o.contains(target))) setOpen(false);
  });
  document.addEventListener('keydown', (ev) => {
    if (ev.key === 'Escape' && !menu.hidden) {
      ev.preventDefault(); // one Escape closes one thing (keys.js)
      setOpen(false);
      toggle.focus();
    }
  });
}

/**
 * Shows a `reacted`: the reaction and who, floating up the stage's side.
 * @param {import('../net/types.js').ReactedMsg} m
 * @param {{myId: string | null, nameOf: (id: string) => string}} names
 */
export function showReaction(m, names) {
  const lane = document.getElementById('reactions');
  if (!lane) return;
  const bubble = document.createElement('div');
  bubble.className = 'reaction-bubble';
  bubble.dataset.peerId = m.peer;
  const emoji = document.createElement('span');
  emoji.className = 'reaction-emoji';
  emoji.textContent = EMOJI[m.reaction];
  const who = document.createElement('span');
  who.className = 'reaction-who';
  who.textContent = m.peer === names.myId ? t('tile.you') : names.nameOf(m.peer);
  bubble.append(emoji, who);
  lane.append(bubble);
  while (lane.children.length > MAX_SHOWN) lane.firstElementChild?.remove();
  setTimeout(() => bubble.remove(), SHOW_MS);
}
