// The room's chat panel: message list, composer, unread badge. app.js owns the
// connection and hands this module what the server sends; the protocol rules live in
// protocol.js. User text only ever reaches the page as text nodes; http(s) links in it
// become anchors whose text is the link as typed (links.js).
//
// Own messages show at once as "Sending…" and are settled by the server's copy (matched
// by request id, the `ref` it carries) or removed again if the server refuses them, with
// the text put back in the composer and the reason shown under it. Each carries a key of
// our own (`chat.key`): one whose confirmation was lost (the connection closed, the
// request timed out) stays "Sending…" and is sent again, with the same key, when the
// room is back; the server keeps and delivers it once either way.

import { addChatMessage, chatHistoryContinues, chatTextError, trimChat } from '../net/protocol.js';
import { SignalingError } from '../net/signaling.js';
import { formatDateTime, locale, say, t } from '../i18n/i18n.js';
import { splitLinks } from './links.js';
import { onLanguageChange } from './language.js';

/** @typedef {import('../net/protocol.js').ChatMessage} ChatMessage */

/**
 * Sends a chat text with our key for it; see `Signaling.sendChat`.
 * @typedef {(text: string, key?: string) => {id: number | null, reply: Promise<ChatMessage>}} SendChat
 */

/** Most own messages waiting for the room's chat rate; beyond, the sender is told. */
const MAX_WAITING = 50;
/** How long a message refused as too fast waits before it is sent again (the server
 * refills a sender's chat allowance by one a second). */
const RETRY_MS = 1_000;

/** Failures after which a message may have arrived or not: it is sent again, same key. */
const UNSETTLED = ['closed', 'timeout'];

/**
 * A message's time, short on the page and whole in its tooltip, in the page's language.
 * @param {HTMLElement} el
 * @param {number} ts ms since the epoch
 */
function wordTime(el, ts) {
  el.textContent = formatChatTime(ts);
  el.title = formatDateTime(ts);
}

/** A fresh key for a message: 96 random bits, base 36. */
function newKey() {
  const words = crypto.getRandomValues(new Uint32Array(3));
  return [...words].map((w) => w.toString(36)).join('-');
}

/**
 * The elements of the panel (ids in docs/web-test-contract.md).
 * @typedef {object} ChatElements
 * @property {HTMLElement} panel        #chat
 * @property {HTMLButtonElement} toggle #chat-toggle
 * @property {HTMLElement} badge        #chat-badge, unread count on the toggle
 * @property {HTMLButtonElement} close  #chat-close
 * @property {HTMLElement} scroller     the scrolling area around the list
 * @property {HTMLOListElement} list    #chat-list
 * @property {HTMLElement} empty        #chat-empty
 * @property {HTMLFormElement} form     #chat-form
 * @property {HTMLTextAreaElement} input #chat-input
 * @property {HTMLButtonElement} send   #chat-send
 * @property {HTMLElement} error        #chat-error
 */

/** Messages from one sender closer together than this share one header. */
const GROUP_MS = 5 * 60_000;
/** Tallest the composer grows before it scrolls, in pixels. */
const INPUT_MAX_PX = 140;

/** Send failures (server error codes, 'timeout', 'closed') with words of their own (`chat.send.*`). */
const SEND_ERRORS = ['rate_limited', 'bad_text', 'not_joined', 'timeout', 'closed'];

/**
 * @param {number} ts Unix ms
 * @returns {string} e.g. "14:05", or "Mon 14:05" / "3 Jan, 14:05" when not today
 */
export function formatChatTime(ts, now = Date.now()) {
  const d = new Date(ts);
  const time = d.toLocaleTimeString(locale(), { hour: '2-digit', minute: '2-digit' });
  if (new Date(now).toDateString() === d.toDateString()) return time;
  const days = (now - ts) / 86_400_000;
  const day =
    days >= 0 && days < 6
      ? d.toLocaleDateString(locale(), { weekday: 'short' })
      : d.toLocaleDateString(locale(), { day: 'numeric', month: 'short' });
  return `${day} ${time}`;
}

/**
 * A stable hue per sender, so names are told apart at a glance.
 * @param {string} id
 * @returns {number}
 */
function hueOf(id) {
  let h = 0;
  for (const c of id) h = (h * 31 + (c.codePointAt(0) ?? 0)) % 360;
  return h;
}

export class ChatPanel {
  /**
   * @param {ChatElements} el
   * @param {{onOpenChange?: (open: boolean) => void}} [options]
   */
  constructor(el, options = {}) {
    this.el = el;
    this.onOpenChange = options.onOpenChange ?? (() => {});
    /** Confirmed messages, in id order. @type {ChatMessage[]} */
    this.messages = [];
    /** @type {string | null} */
    this.selfId = null;
    /** @type {SendChat | null} */
    this.sender = null;
    this.open = false;
    this.unread = 0;
    this.enabled = false;
    /** Own messages awaiting the server, by request id. @type {Map<number, HTMLLIElement>} */
    this.pending = new Map();
    /**
     * Own messages whose confirmation was lost, by key, to send again when the room is
     * back. @type {Map<string, {li: HTMLLIElement, text: string}>}
     */
    this.unsent = new Map();
    /**
     * Own messages the server refused as too fast, or typed while those wait, in the
     * order typed, to send one at a time. @type {{key: string, text: string, li: HTMLLIElement}[]}
     */
    this.waiting = [];
    /** @type {ReturnType<typeof setTimeout> | null} */
    this.retryTimer = null;

    el.toggle.addEventListener('click', () => this.setOpen(!this.open));
    el.close.addEventListener('click', () => this.setOpen(false));
    el.form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      this.submit();
    });
    el.input.addEventListener('keydown', (ev) => {
      // Enter sends, Shift+Enter is a new line; never while an IME is composing.
      if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing && ev.keyCode !== 229) {
        ev.preventDefault();
        this.submit();
      }
    });
    el.input.addEventListener('input', () => {
      this.showError('');
      this.renderComposer();
    });
    this.renderComposer();
    this.renderBadge();
    onLanguageChange(() => this.reword());
  }

  /** Words the messages shown again after a language switch: our own name, the times. @private */
  reword() {
    for (const li of this.el.list.querySelectorAll('li.chat-msg')) {
      const name = li.querySelector('.chat-name');
      if (name && li.classList.contains('mine')) name.textContent = t('chat.you');
      const time = /** @type {HTMLElement | null} */ (li.querySelector('.chat-time'));
      if (time) wordTime(time, Number(/** @type {HTMLElement} */ (li).dataset.ts));
    }
  }

  /**
   * A fresh room: its history from `joined`, and who we are.
   * @param {ChatMessage[]} history
   * @param {string} selfId
   * @param {SendChat} sender
   */
  start(history, selfId, sender) {
    const unsent = [...this.unsent, ...this.takeWaiting()];
    this.clear();
    this.selfId = selfId;
    this.sender = sender;
    for (const m of history) this.receive(m);
    this.unread = 0; // history is context, not news
    this.setEnabled(true);
    this.renderBadge();
    this.scrollToEnd();
    this.sendAgain(unsent, history);
  }

  /**
   * The same room again after a reconnect: keeps what is shown and adds what `history`
   * has beyond it, each message once (by id); messages missed meanwhile count as
   * unread. If the history does not continue what is shown (the server lost the room's
   * ids), starts over like `start`.
   * @param {ChatMessage[]} history
   * @param {string} selfId
   * @param {SendChat} sender
   */
  resume(history, selfId, sender) {
    if (!chatHistoryContinues(this.messages, history)) {
      this.start(history, selfId, sender);
      return;
    }
    this.sender = sender;
    for (const m of history) this.receive(m);
    // Our new peer id marks our messages from now on; the old ones keep their look.
    this.selfId = selfId;
    this.setEnabled(true);
    this.renderBadge();
    this.sendAgain([...this.unsent, ...this.takeWaiting()], history);
  }

  /**
   * Sends again each message whose confirmation was lost, unless `history` has it (it
   * did arrive): with its key, so the server delivers it once either way.
   * @private
   * @param {[string, {li: HTMLLIElement, text: string}][]} unsent
   * @param {ChatMessage[]} history
   */
  sendAgain(unsent, history) {
    this.unsent.clear();
    for (const [key, { li, text }] of unsent) {
      li.remove();
      if (!history.some((m) => m.key === key)) this.send(text, key);
    }
    this.renderEmpty();
  }

  /**
   * Empties the waiting queue, for `sendAgain`.
   * @private
   * @returns {[string, {li: HTMLLIElement, text: string}][]}
   */
  takeWaiting() {
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    return this.waiting.splice(0).map(({ key, text, li }) => [key, { li, text }]);
  }

  /** Back to the lobby: forget the room's messages. */
  clear() {
    this.messages = [];
    this.pending.clear();
    this.unsent.clear();
    this.takeWaiting();
    this.el.list.replaceChildren();
    this.selfId = null;
    this.sender = null;
    this.unread = 0;
    this.el.input.value = '';
    this.showError('');
    this.setEnabled(false);
    this.renderBadge();
    this.renderEmpty();
  }

  /** @param {boolean} on whether messages can be sent (connected and in the room) */
  setEnabled(on) {
    this.enabled = on;
    this.el.input.disabled = !on;
    this.el.input.placeholder = t(on ? 'chat.placeholder' : 'chat.offline');
    this.renderComposer();
  }

  /** @param {boolean} open */
  setOpen(open) {
    if (open === this.open) return;
    this.open = open;
    this.el.panel.classList.toggle('open', open);
    this.el.toggle.setAttribute('aria-expanded', String(open));
    this.el.toggle.setAttribute('aria-label', t(open ? 'chat.hide' : 'chat.show'));
    if (open) {
      this.unread = 0;
      this.renderBadge();
      this.renderComposer();
      this.scrollToEnd();
      // On touch screens focusing would pop up the keyboard over the messages.
      if (window.matchMedia('(pointer: fine)').matches) this.el.input.focus({ preventScroll: true });
    }
    this.onOpenChange(open);
  }

  /**
   * A message from the server (history, someone else's, or our own copy with `ref`).
   * @param {ChatMessage} msg
   * @param {import('../net/protocol.js').RequestId} [ref]
   */
  receive(msg, ref) {
    const unsent = msg.key && msg.from === this.selfId ? this.unsent.get(msg.key) : undefined;
    if (unsent && msg.key) {
      // Its confirmation was lost, but here it is.
      unsent.li.remove();
      this.unsent.delete(msg.key);
    }
    const pendingLi = typeof ref === 'number' ? this.pending.get(ref) : undefined;
    if (!addChatMessage(this.messages, msg)) return; // already shown
    const stick = this.nearEnd() || msg.from === this.selfId;
    if (pendingLi && typeof ref === 'number') {
      this.pending.delete(ref);
      pendingLi.remove();
    }
    const li = this.item(msg);
    const index = this.messages.indexOf(msg);
    const next = this.messages[index + 1];
    const before = next ? this.el.list.querySelector(`li[data-msg-id="${next.id}"]`) : null;
    // Pending own messages stay last, below every confirmed one.
    this.el.list.insertBefore(li, before ?? this.el.list.querySelector('li.pending'));
    this.regroup(li);
    if (li.nextElementSibling instanceof HTMLLIElement) this.regroup(li.nextElementSibling);
    if (!this.open && msg.from !== this.selfId && ref === undefined) {
      this.unread++;
      this.renderBadge();
    }
    this.renderEmpty();
    if (stick) this.scrollToEnd();
  }

  /** Sends what is in the composer, if it is a valid message. */
  submit() {
    const text = this.el.input.value;
    if (!this.enabled || !this.sender) return;
    const problem = chatTextError(text);
    if (problem) {
      if (text.trim() !== '') this.showError(say(problem));
      return;
    }
    this.el.input.value = '';
    this.showError('');
    this.renderComposer();
    if (this.waiting.length > 0 && this.waiting.length < MAX_WAITING) {
      // Others wait for the room's rate: this one goes after them.
      this.wait({ key: newKey(), text, li: this.pendingItem(text) });
      this.scrollToEnd();
      return;
    }
    this.send(text, newKey());
  }

  /**
   * Shows `text` as "Sending…" (in `li`, made now if not given) and sends it with `key`;
   * settled by the server's copy, queued to send again if the server says we are too
   * fast, taken back into the composer if refused otherwise, kept to send again if
   * unsettled.
   * @private
   * @param {string} text
   * @param {string} key
   * @param {HTMLLIElement} [given]
   * @returns {Promise<boolean>} once settled: whether the server has it
   */
  send(text, key, given) {
    if (!this.sender) return Promise.resolve(false);
    const { id, reply } = this.sender(text, key);
    if (id === null) {
      given?.remove();
      this.renderEmpty();
      this.showError(t('chat.send.closed'));
      if (this.el.input.value.trim() === '') this.el.input.value = text;
      this.renderComposer();
      return Promise.resolve(false);
    }
    const li = given ?? this.pendingItem(text);
    li.classList.remove('waiting');
    /** @type {HTMLElement} */ (li.querySelector('.chat-time')).textContent = t('chat.sending');
    this.pending.set(id, li);
    this.scrollToEnd();
    return reply.then(
      (msg) => {
        this.receive(msg, id); // normally already done by the 'chat' event
        return true;
      },
      (err) => {
        const li = this.pending.get(id);
        const code = err instanceof SignalingError ? err.code : '';
        if (li && UNSETTLED.includes(code)) {
          // It may have arrived: keep it showing, and send it again when the room is back.
          this.pending.delete(id);
          this.unsent.set(key, { li, text });
          return false;
        }
        if (li && code === 'rate_limited' && this.waiting.length < MAX_WAITING) {
          // Typed faster than the room takes: it goes out in turn, nothing is dropped.
          this.pending.delete(id);
          this.wait({ key, text, li });
          return false;
        }
        if (li) {
          this.pending.delete(id);
          li.remove();
          this.renderEmpty();
        }
        // Give the text back so nothing typed is lost.
        if (this.el.input.value.trim() === '') this.el.input.value = text;
        this.renderComposer();
        this.showError(
          SEND_ERRORS.includes(code)
            ? t(`chat.send.${code}`)
            : t('chat.send.failed', { detail: err instanceof Error ? err.message : String(err) }),
        );
        return false;
      },
    );
  }

  /**
   * A new own message at the end of the list, "Sending…" until settled.
   * @private
   * @param {string} text
   * @returns {HTMLLIElement}
   */
  pendingItem(text) {
    const li = this.item({ id: -1, from: this.selfId ?? '', name: '', text: trimChat(text), ts: Date.now() });
    li.classList.add('pending');
    delete li.dataset.msgId;
    this.el.list.append(li);
    this.regroup(li);
    this.renderEmpty();
    return li;
  }

  /**
   * Queues a message the server refused as too fast (or typed while others wait), shown
   * as "Waiting to send…", in the order they were typed; the queue is sent one at a
   * time as the room's rate allows.
   * @private
   * @param {{key: string, text: string, li: HTMLLIElement}} entry
   */
  wait(entry) {
    entry.li.classList.add('waiting');
    /** @type {HTMLElement} */ (entry.li.querySelector('.chat-time')).textContent = t('chat.waiting');
    const order = [...this.el.list.children];
    const at = this.waiting.findIndex((w) => order.indexOf(w.li) > order.indexOf(entry.li));
    this.waiting.splice(at < 0 ? this.waiting.length : at, 0, entry);
    this.scheduleWaiting(RETRY_MS);
  }

  /**
   * @private
   * @param {number} ms
   */
  scheduleWaiting(ms) {
    if (this.retryTimer !== null) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.sendWaiting();
    }, ms);
  }

  /**
   * Sends the first waiting message; the next follows once the server has it.
   * @private
   */
  sendWaiting() {
    const first = this.waiting.shift();
    if (!first) return;
    if (!this.enabled || !this.sender) {
      this.waiting.unshift(first);
      return; // start() or resume() sends it when the room is back
    }
    // Delivered: the next at once; refused again: wait() has put it back and set a timer.
    this.send(first.text, first.key, first.li).then((sent) => {
      if (sent) this.sendWaiting();
    });
  }

  /**
   * @private
   * @param {ChatMessage} msg
   * @returns {HTMLLIElement}
   */
  item(msg) {
    const mine = msg.from === this.selfId;
    const li = document.createElement('li');
    li.className = mine ? 'chat-msg mine' : 'chat-msg';
    li.dataset.msgId = String(msg.id);
    li.dataset.from = msg.from;
    li.dataset.ts = String(msg.ts);
    li.style.setProperty('--hue', String(hueOf(msg.from)));
    const meta = document.createElement('div');
    meta.className = 'chat-meta';
    const name = document.createElement('span');
    name.className = 'chat-name';
    name.textContent = mine ? t('chat.you') : msg.name;
    const time = document.createElement('time');
    time.className = 'chat-time';
    time.dateTime = new Date(msg.ts).toISOString();
    wordTime(time, msg.ts);
    meta.append(name, time);
    const text = document.createElement('div');
    text.className = 'chat-text';
    for (const part of splitLinks(msg.text)) {
      if (!part.href) {
        text.append(part.text);
        continue;
      }
      // A new tab that cannot reach back to this page, and tells the site nothing of it.
      const a = document.createElement('a');
      a.href = part.href;
      a.target = '_blank';
      a.rel = 'noopener noreferrer nofollow';
      a.textContent = part.text;
      text.append(a);
    }
    li.append(meta, text);
    return li;
  }

  /**
   * Hides the header of a message that directly follows one from the same sender.
   * @private
   * @param {HTMLLIElement} li
   */
  regroup(li) {
    const prev = li.previousElementSibling;
    const same =
      prev instanceof HTMLLIElement &&
      prev.dataset.from === li.dataset.from &&
      Number(li.dataset.ts) - Number(prev.dataset.ts) < GROUP_MS &&
      !prev.classList.contains('pending');
    li.classList.toggle('cont', same);
  }

  /** @private */
  nearEnd() {
    const s = this.el.scroller;
    return s.scrollHeight - s.scrollTop - s.clientHeight < 48;
  }

  /** @private */
  scrollToEnd() {
    const s = this.el.scroller;
    s.scrollTop = s.scrollHeight;
  }

  /** @private */
  renderEmpty() {
    this.el.empty.hidden = this.el.list.childElementCount > 0;
  }

  /** @private */
  renderBadge() {
    this.el.badge.textContent = this.unread > 0 ? (this.unread > 99 ? '99+' : String(this.unread)) : '';
    this.el.toggle.title = this.unread > 0 ? t('chat.unread', { count: this.unread }) : t('chat.heading');
  }

  /** @private */
  renderComposer() {
    const input = this.el.input;
    this.el.send.disabled = !this.enabled || input.value.trim() === '';
    input.style.height = 'auto';
    // A closed panel lays nothing out (scrollHeight 0): keep the stylesheet's height
    // rather than fixing the composer at zero; it is measured again when shown.
    if (input.scrollHeight > 0) input.style.height = `${Math.min(input.scrollHeight, INPUT_MAX_PX)}px`;
  }

  /**
   * @private
   * @param {string} message
   */
  showError(message) {
    this.el.error.textContent = message;
    this.el.error.hidden = message === '';
  }
}
