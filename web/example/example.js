// A minimal client of confab's signaling protocol, using only web/js/net/: join a room,
// show who is there (with their presence) and the chat as plain text, send chat lines.
// No media, no UI framework: it documents that the protocol client stands on its own
// (docs/protocol.md has the messages; web/README.md the layers).

import { Signaling, SignalingError } from '../js/net/signaling.js';
import { describeServerError, nameError, roomError } from '../js/net/protocol.js';
import { say } from '../js/i18n/i18n.js';

/** @typedef {import('../js/net/protocol.js').PeerInfo} PeerInfo */
/** @typedef {import('../js/net/protocol.js').ChatMessage} ChatMessage */

/**
 * @template {HTMLElement} T
 * @param {string} id
 * @param {{new (): T}} type
 * @returns {T}
 */
function $(id, type) {
  const el = document.getElementById(id);
  if (!(el instanceof type)) throw new Error(`#${id} is missing`);
  return el;
}

const ui = {
  form: $('join-form', HTMLFormElement),
  name: $('name', HTMLInputElement),
  room: $('room', HTMLInputElement),
  join: $('join', HTMLButtonElement),
  leave: $('leave', HTMLButtonElement),
  status: $('status', HTMLElement),
  people: $('people', HTMLElement),
  chat: $('chat', HTMLElement),
  chatForm: $('chat-form', HTMLFormElement),
  chatInput: $('chat-input', HTMLInputElement),
  chatSend: $('chat-send', HTMLButtonElement),
};

/** @type {Signaling | null} */
let sig = null;
/** @type {Map<string, PeerInfo>} */
const peers = new Map();
/** @type {ChatMessage[]} */
let chat = [];
let myId = '';

function render() {
  const lines = [...peers.values()].map((p) => {
    const s = p.state;
    const where = s.status === 'inCall' ? `in call ${s.call}` : s.status;
    return `${p.name}${p.role === 'host' ? ' (host)' : ''}: ${where}${s.audioMuted ? ', muted' : ''}`;
  });
  ui.people.textContent = lines.join('\n') || '(no one else)';
  ui.chat.textContent = chat.map((m) => `${m.from === myId ? 'You' : m.name}: ${m.text}`).join('\n');
  const inRoom = sig !== null;
  ui.join.disabled = inRoom;
  ui.leave.disabled = !inRoom;
  ui.chatInput.disabled = !inRoom;
  ui.chatSend.disabled = !inRoom;
}

/** @param {string} name @param {string} room */
async function join(name, room) {
  const problem = nameError(name) ?? roomError(room);
  if (problem) {
    ui.status.textContent = say(problem);
    return;
  }
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const s = new Signaling(new WebSocket(`${scheme}//${location.host}/ws`));
  sig = s;
  s.on('peerJoined', ({ peer }) => {
    peers.set(peer.id, peer);
    render();
  });
  s.on('peerLeft', ({ peerId }) => {
    peers.delete(peerId);
    render();
  });
  s.on('presence', ({ peerId, state }) => {
    const p = peers.get(peerId);
    if (p) p.state = state;
    render();
  });
  s.on('roleChanged', ({ peerId, role }) => {
    const p = peers.get(peerId);
    if (p) p.role = role;
    render();
  });
  s.on('chat', ({ message }) => {
    if (!chat.some((m) => m.id === message.id)) chat = [...chat, message].sort((a, b) => a.id - b.id);
    render();
  });
  s.on('close', () => {
    if (sig === s) sig = null;
    ui.status.textContent = 'Disconnected.';
    render();
  });
  try {
    await s.ready;
    const joined = await s.join(room, name);
    myId = joined.you.id;
    peers.clear();
    for (const p of joined.peers) peers.set(p.id, p);
    chat = [...joined.history];
    ui.status.textContent = `In room ${joined.room} as ${joined.you.name}.`;
  } catch (err) {
    ui.status.textContent =
      err instanceof SignalingError ? say(describeServerError({ code: err.code, message: err.message })) : String(err);
    s.close();
    if (sig === s) sig = null;
  }
  render();
}

ui.form.addEventListener('submit', (ev) => {
  ev.preventDefault();
  join(ui.name.value, ui.room.value.trim());
});

ui.leave.addEventListener('click', () => {
  const s = sig;
  sig = null;
  peers.clear();
  chat = [];
  s?.leave().catch(() => {}).finally(() => s.close());
  ui.status.textContent = 'Left.';
  render();
});

ui.chatForm.addEventListener('submit', (ev) => {
  ev.preventDefault();
  const text = ui.chatInput.value;
  if (!sig || !text.trim()) return;
  sig.sendChat(text).reply.then(
    () => {
      ui.chatInput.value = '';
    },
    (err) => {
      ui.status.textContent = err instanceof Error ? err.message : String(err);
    },
  );
});

render();
