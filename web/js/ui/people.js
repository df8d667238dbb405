// The people panel: everyone in the room with a live presence badge (available, ringing,
// in a call and with whom, microphone/camera off) and one action button per person:
// Call, Invite (into our call), Join (their call), or a disabled state.

import { initialOf } from './stage.js';
import { listNames, t } from '../i18n/i18n.js';

/** @typedef {import('../net/protocol.js').PeerInfo} PeerInfo */
/** @typedef {import('./calls.js').Calls} Calls */
/** @typedef {import('../room/room.js').Room} Room */

/**
 * @typedef {object} PeopleUi
 * @property {HTMLUListElement} list
 * @property {HTMLTemplateElement} template
 * @property {HTMLElement} count
 * @property {HTMLElement} empty
 * @property {HTMLElement} badge
 * @property {HTMLElement} meStatus
 */

/**
 * @typedef {'call' | 'invite' | 'join' | 'none'} Action
 */

/**
 * What one person's row says and offers.
 * @param {PeerInfo} peer
 * @param {Calls} calls
 * @param {boolean} offline we lost the server
 * @returns {{status: string, badge: string, action: Action, label: string, aria: string}}
 */
export function describePeer(peer, calls, offline) {
  const s = peer.state;
  const myCall = calls.myCall();
  const name = peer.name;
  // Calling someone busy is allowed: the server answers `busy` and we say so in words.
  const ring = offline ? 'none' : myCall === null ? 'call' : 'invite';
  const ringLabel = t(ring === 'invite' ? 'people.action.invite' : 'people.action.call');
  const ringAria = t(ring === 'invite' ? 'people.aria.invite' : 'people.aria.call', { name });
  if (s.reconnecting) {
    return {
      status: t('people.reconnecting'), badge: 'reconnecting', action: 'none',
      label: t('people.action.reconnecting'), aria: t('people.aria.reconnecting', { name }),
    };
  }
  if (s.status === 'inCall' && s.call !== undefined) {
    if (myCall === s.call) {
      return {
        status: t('people.in_your_call'), badge: 'in-call', action: 'none',
        label: t('people.action.in_call'), aria: t('people.aria.in_your_call', { name }),
      };
    }
    const others = [];
    for (const p of calls.ctx.room.membersOf(s.call, peer.id)) others.push(p.name);
    const status = others.length ? t('people.in_call_with', { names: listNames(others) }) : t('people.calling_someone');
    if (myCall === null && !offline && others.length) {
      return { status, badge: 'busy', action: 'join', label: t('people.action.join'), aria: t('people.aria.join', { name }) };
    }
    return { status, badge: 'busy', action: ring, label: ringLabel, aria: ringAria };
  }
  if (s.status === 'ringing') {
    if (calls.outgoing.has(peer.id)) {
      return {
        status: t('people.ringing'), badge: 'ringing', action: 'none',
        label: t('people.action.ringing'), aria: t('people.aria.ringing', { name }),
      };
    }
    return { status: t('people.being_called'), badge: 'ringing', action: ring, label: ringLabel, aria: ringAria };
  }
  return { status: t('people.available'), badge: 'idle', action: ring, label: ringLabel, aria: ringAria };
}

/**
 * Renders the list, reusing rows by peer id so focus and hover survive updates.
 * @param {PeopleUi} ui
 * @param {Room} room everyone else in the room, and their media state
 * @param {Calls} calls
 * @param {boolean} offline
 */
export function renderPeople(ui, room, calls, offline) {
  const peers = room.peers;
  /** @type {Map<string, HTMLLIElement>} */
  const existing = new Map();
  for (const li of ui.list.querySelectorAll('li')) {
    if (li.dataset.peerId) existing.set(li.dataset.peerId, li);
  }
  for (const [id, li] of existing) if (!peers.has(id)) li.remove();
  for (const peer of peers.values()) {
    let li = existing.get(peer.id);
    if (!li) {
      const frag = /** @type {DocumentFragment} */ (ui.template.content.cloneNode(true));
      li = /** @type {HTMLLIElement} */ (frag.querySelector('li'));
      li.dataset.peerId = peer.id;
      const button = /** @type {HTMLButtonElement} */ (li.querySelector('button.call'));
      button.addEventListener('click', () => {
        const p = peers.get(peer.id);
        const action = button.dataset.action;
        if (!p) return;
        if (action === 'call' || action === 'invite') calls.invite(p.id);
        else if (action === 'join' && p.state.call !== undefined) calls.join(p.state.call);
      });
      ui.list.append(li);
    }
    const d = describePeer(peer, calls, offline);
    /** @type {HTMLElement} */ (li.querySelector('.peer-name')).textContent = peer.name;
    /** @type {HTMLElement} */ (li.querySelector('.peer-avatar')).textContent = initialOf(peer.name);
    const status = /** @type {HTMLElement} */ (li.querySelector('.peer-status'));
    status.textContent = d.status;
    li.dataset.status = peer.state.status;
    li.dataset.badge = d.badge;
    li.classList.toggle('in-call', d.badge === 'in-call');
    const media = room.media(peer.id);
    li.classList.toggle('mic-off', media.micMuted);
    li.classList.toggle('cam-off', media.camOff);
    const button = /** @type {HTMLButtonElement} */ (li.querySelector('button.call'));
    button.dataset.action = d.action;
    button.disabled = d.action === 'none';
    button.setAttribute('aria-label', d.aria);
    /** @type {HTMLElement} */ (button.querySelector('.call-text')).textContent = d.label;
  }
  const count = peers.size;
  ui.count.textContent = String(count + 1);
  ui.empty.hidden = count > 0;
  ui.badge.textContent = count > 0 ? String(count + 1) : '';
  const me = calls.me;
  const inCall = calls.members();
  ui.meStatus.textContent = offline
    ? t('people.me_offline') // the room may have changed; we cannot know until we are back
    : me.status === 'inCall' && room.broadcast
      ? calls.statusText() // "Watching Ada", "You are broadcasting to 8 people": not 500 names
      : me.status === 'inCall'
      ? inCall.size
        ? t('people.in_call_with', { names: listNames([...inCall].map((id) => calls.nameOf(id))) })
        : t('people.me_calling')
      : t(me.status === 'ringing' ? 'people.me_ringing' : 'people.available');
  ui.meStatus.closest('.peer')?.setAttribute('data-badge', me.status === 'inCall' ? 'in-call' : me.status === 'ringing' ? 'ringing' : 'idle');
}
