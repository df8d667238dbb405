// Calls as the server runs them, on screen: the incoming-call dialog, our ringing
// invitations, "Join the call", hanging up, and the words shown for each outcome. The
// server is authoritative: who is in which call comes from `presence`, kept by the room
// model (room/room.js); this module asks (invite, accept, joinCall, leaveCall) and then
// keeps the transport (media/transport.js) connected to exactly our call's members.

import { initialOf } from './stage.js';
import { Ringer, askToNotify } from './ringer.js';
import { formatDuration } from './basics.js';
import { showIsolated } from './bidi.js';
import { listNames, locale, t } from '../i18n/i18n.js';

/** @typedef {import('../net/protocol.js').InviteEndedMsg} InviteEndedMsg */
/** @typedef {import('../net/signaling.js').Signaling} Signaling */
/** @typedef {import('../media/callmedia.js').CallMedia} CallMedia */
/** @typedef {import('../room/room.js').Room} Room */
/** @typedef {import('../room/room.js').InviteEndResult} InviteEndResult */

/**
 * @typedef {object} CallsUi
 * @property {HTMLElement} incoming the incoming-call dialog
 * @property {HTMLElement} incomingAvatar
 * @property {HTMLElement} incomingTitle
 * @property {HTMLElement} incomingDetail
 * @property {HTMLButtonElement} accept
 * @property {HTMLButtonElement} decline
 * @property {HTMLUListElement} outgoing "Calling Bob…" rows with Cancel
 * @property {HTMLButtonElement} joinCall
 * @property {HTMLElement} notice
 */

/**
 * @typedef {object} CallsContext
 * @property {() => Signaling | null} signaling
 * @property {Room} room
 * @property {CallMedia} transport the call's media: the mesh, or the server's router
 * @property {() => void} onChange call state changed: re-render
 * @property {() => Promise<void>} ready resolves once our camera and microphone are
 *   there (or refused): a call is negotiated with what we have then
 */

/** How long an outcome ("Bob declined") stays on screen. */
const NOTICE_MS = 8000;

/** @param {string} s */
const sentence = (s) => {
  const trimmed = s.trim();
  const up = trimmed.charAt(0).toUpperCase() + trimmed.slice(1);
  return /[.!?…。！？]$/.test(up) ? up : `${up}.`;
};

export class Calls {
  /**
   * @param {CallsUi} ui
   * @param {CallsContext} ctx
   */
  constructor(ui, ctx) {
    this.ui = ui;
    this.ctx = ctx;
    /** Every outcome shown, oldest first (for tests). @type {string[]} */
    this.notices = [];
    /** Rings while an invitation waits for us. */
    this.ringer = new Ringer();
    document.getElementById('join-form')?.addEventListener('submit', () => askToNotify());
    /** @private @type {ReturnType<typeof setTimeout> | null} */
    this.noticeTimer = null;
    /** Since when someone else is in our call (Date.now()), or null. @private @type {number | null} */
    this.together = null;

    ui.accept.addEventListener('click', () => this.accept());
    ui.decline.addEventListener('click', () => this.decline());
    ui.joinCall.addEventListener('click', () => {
      const running = this.runningCall();
      if (running) this.join(running.call);
    });
  }

  /** A new room (or none): close every connection (the room model resets itself). */
  reset() {
    this.ctx.transport.reset();
    this.setNotice('');
  }

  /** Our presence (the room model's). */
  get me() {
    return this.ctx.room.me;
  }

  /** The invitation ringing at us. */
  get incoming() {
    return this.ctx.room.incoming;
  }

  /** Our invitations still ringing: peer id -> call id. */
  get outgoing() {
    return this.ctx.room.outgoing;
  }

  /** @param {string} id */
  nameOf(id) {
    return this.ctx.room.nameOf(id);
  }

  /** The call we are in, or null. */
  myCall() {
    return this.ctx.room.myCall();
  }

  /** Everyone else in our call, by their presence. @returns {Set<string>} */
  members() {
    return this.ctx.room.members();
  }

  /** The biggest call running in the room that we are not in: what "Join the call" joins. */
  runningCall() {
    return this.ctx.room.runningCall();
  }

  /** @param {string} text */
  setNotice(text) {
    if (this.noticeTimer !== null) clearTimeout(this.noticeTimer);
    this.noticeTimer = null;
    showIsolated(this.ui.notice, text, this.ctx.room.names.values());
    this.ui.notice.hidden = !text;
    if (text) {
      this.notices.push(text);
      this.noticeTimer = setTimeout(() => this.setNotice(''), NOTICE_MS);
    }
  }

  // ------------------------------------------------------------------ actions

  /** Calls a peer (or invites them into our call). @param {string} peerId */
  invite(peerId) {
    this.ctx.ready().then(() => this.ctx.signaling()?.sendInvite(peerId));
  }

  /** @param {string} peerId */
  cancel(peerId) {
    this.ctx.signaling()?.sendCancel(peerId);
  }

  accept() {
    const call = this.incoming?.call;
    if (call === undefined) return;
    this.ctx.ready().then(() => {
      if (this.incoming?.call === call) this.ctx.signaling()?.sendAccept(call);
    });
  }

  decline() {
    if (this.incoming) this.ctx.signaling()?.sendDecline(this.incoming.call);
  }

  /** @param {number} call */
  join(call) {
    this.ctx.ready().then(() => this.ctx.signaling()?.sendJoinCall(call));
  }

  /** Hangs up: leave the call; the others stay connected to each other. */
  hangup() {
    if (this.myCall() === null) return;
    this.ctx.signaling()?.sendLeaveCall();
    // The server confirms with our presence; stop sending media at once.
    this.ctx.room.leftCall();
    this.ctx.transport.closeAll();
    this.noteCallEnd();
    this.ctx.onChange();
  }

  /**
   * Says "The call ended (3:12)" when the last other member leaves our call or we hang
   * up: the time since someone else first joined us, as the call bar's timer showed it.
   * @private
   */
  noteCallEnd() {
    const together = this.myCall() !== null && this.members().size > 0;
    if (together && this.together === null) this.together = Date.now();
    if (together || this.together === null) return;
    const time = formatDuration(Date.now() - this.together);
    this.together = null;
    this.setNotice(t('call.ended', { time }));
  }

  // ------------------------------------------------------------------ server events
  // The app feeds each message to the room model first (see ui/app.js), then here.

  /** @param {string} peerId */
  onPeerLeft(peerId) {
    this.ctx.transport.close(peerId);
    this.sync();
  }

  /** Someone's presence changed (their call, or their microphone and camera). */
  onPresence() {
    this.ctx.transport.renderTiles();
    this.sync();
  }

  /** An invitation rings at us. */
  onInvited() {
    this.ctx.onChange();
    this.ui.accept.focus();
  }

  /** One of our invitations rings. */
  onInviting() {
    this.ctx.onChange();
  }

  /** @param {InviteEndedMsg} m @param {InviteEndResult} ended */
  onInviteEnded(m, ended) {
    if (ended.outgoingEnded) {
      const name = this.nameOf(m.to);
      const key = { accepted: '', declined: 'call.declined', cancelled: '', timeout: 'call.no_answer', left: 'call.left' }[m.reason];
      if (key) this.setNotice(t(key, { name }));
    }
    if (ended.incomingEnded) {
      const name = this.nameOf(m.from);
      if (m.reason === 'cancelled') this.setNotice(t('call.cancelled', { name }));
      if (m.reason === 'timeout') this.setNotice(t('call.missed', { name }));
    }
    this.ctx.onChange();
  }

  /**
   * We are in a call now: the joiner starts media with every member (the mesh), or with
   * the server's router (`media` is `sfu`).
   * @param {string[]} members
   * @param {import('../net/protocol.js').MediaMode} [media]
   */
  onCallJoined(members, media = 'mesh') {
    this.ctx.transport.setMode(media);
    this.ctx.transport.joinCall(members.filter((id) => this.shows(id)));
    this.sync();
  }

  /**
   * A call-related refusal from the server; returns whether it was one.
   * @param {{code: string, message: string}} e
   */
  onError(e) {
    if (!['busy', 'call_full', 'already_in_call', 'already_invited', 'in_another_call',
      'no_invitation', 'unknown_call', 'not_in_call'].includes(e.code)) return false;
    if (e.code === 'no_invitation' || e.code === 'not_in_call') {
      // An answer that crossed the invitation's end; `inviteEnded` explains.
      console.warn(`confab: ${e.message}`);
      return true;
    }
    // The server's own sentence names who and how many ("Bob is busy in another call");
    // it is English, so other languages say the code's words.
    this.setNotice(locale() === 'en' ? sentence(e.message) : t(`error.${e.code}`));
    return true;
  }

  /** Our call moved to the server's router (it grew). @param {import('../net/protocol.js').CallModeMsg} m */
  onCallMode(m) {
    if (this.myCall() !== m.call) return;
    this.ctx.transport.setMode(m.media);
    this.sync();
  }

  /** Keeps the transport on exactly our call's members, then re-renders. */
  sync() {
    // Not in a call: no members, so the mesh closes everything but connections being
    // carried over a server restart (see Mesh.sync).
    this.ctx.transport.sync(new Set([...this.members()].filter((id) => this.shows(id))));
    this.noteCallEnd();
    this.ctx.onChange();
  }

  /**
   * Whether a member of our call gets a tile: in a broadcast only those who send media
   * (the audience has nothing to show).
   * @param {string} id
   */
  shows(id) {
    const room = this.ctx.room;
    return !room.broadcast || room.mayPublish(id);
  }

  // ------------------------------------------------------------------ view

  /** The room's status line while connected: our call, invitations, who is here. */
  statusText() {
    const members = this.members();
    const names = (/** @type {Iterable<string>} */ ids) => listNames([...ids].map((id) => this.nameOf(id)));
    const room = this.ctx.room;
    if (this.myCall() !== null && room.broadcast) {
      const speakers = [...members].filter((id) => room.mayPublish(id));
      if (!room.mayPublish(room.myId) && speakers.length) return t('status.watching', { names: names(speakers) });
      const count = [...members].filter((id) => !room.mayPublish(id)).length;
      if (room.mayPublish(room.myId)) return t('status.broadcasting', { count });
    }
    if (this.myCall() !== null && members.size > 0) return t('status.in_call_with', { names: names(members) });
    if (this.outgoing.size > 0) return t('status.calling', { names: names(this.outgoing.keys()) });
    if (this.incoming) return t('status.is_calling_you', { name: this.nameOf(this.incoming.from) });
    const peers = [...this.ctx.room.peers.values()];
    if (peers.length === 0) return t('status.waiting');
    const running = this.runningCall();
    if (running) return t('status.in_a_call', { names: names(running.members) });
    const all = peers.map((p) => p.name);
    return t('status.here', { names: listNames(all), count: all.length });
  }

  render() {
    const ui = this.ui;
    const inc = this.incoming;
    ui.incoming.hidden = !inc;
    this.ringer.update(inc ? this.nameOf(inc.from) : null);
    if (inc) {
      const name = this.nameOf(inc.from);
      const others = inc.members.filter((id) => id !== inc.from).map((id) => this.nameOf(id));
      ui.incomingAvatar.textContent = initialOf(name);
      ui.incomingTitle.textContent = t('status.is_calling_you', { name });
      ui.incomingDetail.textContent = others.length
        ? t('call.incoming_detail', { name, others: listNames(others) })
        : t('call.video_call');
      ui.incoming.dataset.call = String(inc.call);
      ui.incoming.dataset.from = inc.from;
    }

    const rows = new Map();
    for (const li of ui.outgoing.querySelectorAll('li')) rows.set(li.dataset.peerId ?? '', li);
    for (const [id, li] of rows) if (!this.outgoing.has(id)) li.remove();
    for (const id of this.outgoing.keys()) {
      let li = rows.get(id);
      if (!li) {
        li = document.createElement('li');
        li.dataset.peerId = id;
        const text = document.createElement('span');
        text.className = 'calling-text';
        const dots = document.createElement('span');
        dots.className = 'pulse';
        dots.setAttribute('aria-hidden', 'true');
        const cancel = document.createElement('button');
        cancel.type = 'button';
        cancel.className = 'cancel-invite chip';
        cancel.textContent = t('call.cancel');
        cancel.addEventListener('click', () => this.cancel(id));
        li.append(dots, text, cancel);
        ui.outgoing.append(li);
      }
      /** @type {HTMLElement} */ (li.querySelector('.calling-text')).textContent = t('call.calling', { name: this.nameOf(id) });
    }
    ui.outgoing.hidden = this.outgoing.size === 0;

    const running = this.myCall() === null && !inc ? this.runningCall() : null;
    ui.joinCall.hidden = !running;
    if (running) {
      const names = listNames(running.members.map((id) => this.nameOf(id)));
      ui.joinCall.textContent = t(this.ctx.room.broadcast ? 'call.watch' : 'call.join');
      ui.joinCall.title = t('call.join_title', { names });
      ui.joinCall.setAttribute('aria-label', t('call.join_aria', { names }));
    }
  }

  /** What `window.confab.call` shows. */
  snapshot() {
    const call = this.myCall();
    return {
      status: this.me.status,
      call,
      members: [...this.members()],
      incoming: this.incoming ? { call: this.incoming.call, from: this.incoming.from } : null,
      outgoing: [...this.outgoing.keys()],
      ...this.ringer.snapshot(),
    };
  }
}
