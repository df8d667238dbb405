// The confab web app: lobby, room, calls. All protocol details live in protocol.js,
// camera/microphone handling in media.js and per-peer WebRTC in call.js; this module
// wires them to the page. The ids and classes it uses are a contract with the browser
// tests: see docs/web-test-contract.md.

import {
  Signaling,
  SignalingError,
  describeClose,
  describeServerError,
  nameError,
  roomError,
  trimName,
} from './protocol.js';
import { startLocalMedia, stopMedia } from './media.js';
import { PeerCall, WAIT_FOR_OFFER_MS, sessionIdOf } from './call.js';
import { ChatPanel } from './chat.js';
import { createCallFeatures } from './features.js';

/** @typedef {import('./protocol.js').PeerInfo} PeerInfo */
/** @typedef {import('./protocol.js').IceServer} IceServer */
/** @typedef {import('./call.js').CallStats} CallStats */

/**
 * One call with one peer and its tile.
 * @typedef {object} CallEntry
 * @property {PeerCall} call
 * @property {HTMLElement} tile
 */

const NAME_KEY = 'confab.name';
/** How often a stuck call with one peer is replaced before giving up. */
const MAX_STUCK_RETRIES = 2;

// ---------------------------------------------------------------------------------------
// DOM

/**
 * @template {HTMLElement} T
 * @param {string} id
 * @param {{new (): T}} type
 * @returns {T}
 */
function $(id, type) {
  const el = document.getElementById(id);
  if (!(el instanceof type)) throw new Error(`confab: #${id} is missing from the page`);
  return el;
}

const ui = {
  lobby: $('lobby', HTMLElement),
  form: $('join-form', HTMLFormElement),
  name: $('name', HTMLInputElement),
  room: $('room', HTMLInputElement),
  join: $('join', HTMLButtonElement),
  randomRoom: $('random-room', HTMLButtonElement),
  roomView: $('room-view', HTMLElement),
  roomName: $('room-name', HTMLElement),
  copyLink: $('copy-link', HTMLButtonElement),
  status: $('status', HTMLElement),
  stage: $('stage', HTMLElement),
  selfTile: $('self-tile', HTMLElement),
  selfInitial: $('self-initial', HTMLElement),
  meAvatar: $('me-avatar', HTMLElement),
  meName: $('me-name', HTMLElement),
  localVideo: $('local-video', HTMLVideoElement),
  people: $('people', HTMLElement),
  peopleClose: $('people-close', HTMLButtonElement),
  peopleCount: $('people-count', HTMLElement),
  peopleEmpty: $('people-empty', HTMLElement),
  peerList: $('peer-list', HTMLUListElement),
  mic: $('mic-toggle', HTMLButtonElement),
  cam: $('cam-toggle', HTMLButtonElement),
  hangup: $('hangup', HTMLButtonElement),
  peopleToggle: $('people-toggle', HTMLButtonElement),
  peopleBadge: $('people-badge', HTMLElement),
  leave: $('leave', HTMLButtonElement),
  toast: $('toast', HTMLElement),
  error: $('error', HTMLElement),
  errorClose: $('error-close', HTMLButtonElement),
  tileTemplate: $('remote-tile', HTMLTemplateElement),
  peerTemplate: $('peer-item', HTMLTemplateElement),
};

const chat = new ChatPanel(
  {
    panel: $('chat', HTMLElement),
    toggle: $('chat-toggle', HTMLButtonElement),
    badge: $('chat-badge', HTMLElement),
    close: $('chat-close', HTMLButtonElement),
    scroller: $('chat-scroll', HTMLElement),
    list: $('chat-list', HTMLOListElement),
    empty: $('chat-empty', HTMLElement),
    form: $('chat-form', HTMLFormElement),
    input: $('chat-input', HTMLTextAreaElement),
    send: $('chat-send', HTMLButtonElement),
    error: $('chat-error', HTMLElement),
  },
  {
    // One side panel at a time: chat replaces the people list.
    onOpenChange: (open) => {
      ui.roomView.classList.toggle('chat-open', open);
      if (open) setPeopleOpen(false);
      requestAnimationFrame(layoutStage);
    },
  },
);

// ---------------------------------------------------------------------------------------
// State

const app = {
  /** @type {'lobby' | 'connecting' | 'in-room'} */
  state: 'lobby',
  /** Counts join attempts, so a slow one that was abandoned can tell. */
  joinSeq: 0,
  /** @type {string | null} */
  peerId: null,
  /** @type {string | null} */
  room: null,
  /** @type {string} */
  name: '',
  /** Everyone else in the room, in join order. @type {Map<string, PeerInfo>} */
  peers: new Map(),
  /** Live calls by peer id. @type {Map<string, CallEntry>} */
  calls: new Map(),
  /** @type {string[]} */
  errors: [],
  /** @type {Signaling | null} */
  signaling: null,
  /** @type {RTCIceServer[]} */
  iceServers: [],
  /** @type {MediaStream | null} */
  localStream: null,
  /** performance.now() when the server confirmed our join. @type {number | null} */
  joinedAt: null,
  /** Call newcomers automatically; off after the user hangs up, on again when they call. */
  autoCall: true,
  /** The signaling connection dropped while in the room. */
  disconnected: false,
  micMuted: false,
  camOff: false,
  /**
   * Remote SDP session ids of calls that ended, per peer: offers still in flight from
   * such a session are stale and must not restart the call.
   * @type {Map<string, Set<string>>}
   */
  endedSessions: new Map(),
  /** Stuck calls replaced so far, per peer. @type {Map<string, number>} */
  stuckRetries: new Map(),
};

/** File transfer, screen share, devices, call quality: told about calls as they come and go. */
const features = createCallFeatures({ nameOf, showError, onLocalTracksChanged: () => renderControls() });

// ---------------------------------------------------------------------------------------
// Errors and status

/**
 * Shows a message in #error and records it for tests.
 * @param {string} message
 */
function showError(message) {
  app.errors.push(message);
  ui.error.textContent = message;
  ui.toast.classList.add('show');
}

function clearError() {
  ui.error.textContent = '';
  ui.toast.classList.remove('show');
}

/**
 * Joins names in English: "A", "A and B", "A, B and C", "A, B and 3 others".
 * @param {string[]} names
 * @returns {string}
 */
function listNames(names) {
  if (names.length <= 1) return names[0] ?? '';
  if (names.length <= 3) return `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`;
  return `${names.slice(0, 2).join(', ')} and ${names.length - 2} others`;
}

/** @param {string} id */
function nameOf(id) {
  return app.peers.get(id)?.name ?? 'Someone';
}

function renderStatus() {
  /** @type {string} */
  let text;
  if (app.state === 'connecting') {
    text = 'Connecting…';
  } else if (app.state === 'lobby') {
    text = '';
  } else if (app.disconnected) {
    text = 'Disconnected from the server';
  } else if (app.calls.size > 0) {
    text = `In a call with ${listNames([...app.calls.keys()].map(nameOf))}`;
  } else if (app.peers.size === 0) {
    text = 'Waiting for others…';
  } else {
    const names = [...app.peers.values()].map((p) => p.name);
    text = `${listNames(names)} ${names.length === 1 ? 'is' : 'are'} here. Press Call to talk.`;
  }
  ui.status.textContent = text;
}

// ---------------------------------------------------------------------------------------
// Views

function showView() {
  const inLobby = app.state === 'lobby';
  ui.lobby.hidden = !inLobby;
  ui.roomView.hidden = inLobby;
  ui.join.disabled = app.state === 'connecting';
  document.title = inLobby || !app.room ? 'confab' : `${app.room} · confab`;
  renderStatus();
}

/** Lays the tiles out in the grid that makes them largest. */
function layoutStage() {
  const remotes = app.calls.size;
  ui.stage.dataset.count = String(remotes);
  // Alone: our own preview fills the stage. One other: they fill it and we float
  // picture-in-picture. More: everyone, us included, shares a grid.
  const n = remotes <= 1 ? 1 : remotes + 1;
  const gap = 8;
  const width = ui.stage.clientWidth || window.innerWidth;
  const height = ui.stage.clientHeight || window.innerHeight;
  let best = { cols: 1, rows: 1, area: -1 };
  for (let cols = 1; cols <= n; cols++) {
    const rows = Math.ceil(n / cols);
    const w = (width - gap * (cols - 1)) / cols;
    const h = (height - gap * (rows - 1)) / rows;
    const tileW = Math.min(w, (h * 16) / 9);
    const area = tileW * ((tileW * 9) / 16);
    if (area > best.area + 1) best = { cols, rows, area };
  }
  ui.stage.style.setProperty('--cols', String(best.cols));
  ui.stage.style.setProperty('--rows', String(best.rows));
}

/** @param {string} name */
function initialOf(name) {
  const first = [...trimName(name)][0];
  return first ? first.toUpperCase() : '?';
}

function renderPeers() {
  const list = ui.peerList;
  /** @type {Map<string, HTMLLIElement>} */
  const existing = new Map();
  for (const li of list.querySelectorAll('li')) {
    if (li.dataset.peerId) existing.set(li.dataset.peerId, li);
  }
  for (const [id, li] of existing) if (!app.peers.has(id)) li.remove();
  for (const peer of app.peers.values()) {
    let li = existing.get(peer.id);
    if (!li) {
      const frag = /** @type {DocumentFragment} */ (ui.peerTemplate.content.cloneNode(true));
      li = /** @type {HTMLLIElement} */ (frag.querySelector('li'));
      li.dataset.peerId = peer.id;
      const button = /** @type {HTMLButtonElement} */ (li.querySelector('button.call'));
      button.addEventListener('click', () => callPeer(peer.id));
      list.append(li);
    }
    /** @type {HTMLElement} */ (li.querySelector('.peer-name')).textContent = peer.name;
    /** @type {HTMLElement} */ (li.querySelector('.peer-avatar')).textContent = initialOf(peer.name);
    const button = /** @type {HTMLButtonElement} */ (li.querySelector('button.call'));
    const inCall = app.calls.has(peer.id);
    button.disabled = inCall || app.disconnected;
    button.setAttribute('aria-label', inCall ? `In a call with ${peer.name}` : `Call ${peer.name}`);
    /** @type {HTMLElement} */ (button.querySelector('.call-text')).textContent = inCall ? 'In call' : 'Call';
    li.classList.toggle('in-call', inCall);
  }
  const count = app.peers.size;
  ui.peopleCount.textContent = String(count + 1);
  ui.peopleEmpty.hidden = count > 0;
  ui.peopleBadge.textContent = count > 0 ? String(count + 1) : '';
}

function renderControls() {
  const audio = app.localStream?.getAudioTracks() ?? [];
  const video = app.localStream?.getVideoTracks() ?? [];
  const micOff = app.micMuted || audio.length === 0;
  const camOff = app.camOff || video.length === 0;
  ui.mic.setAttribute('aria-pressed', String(micOff));
  ui.cam.setAttribute('aria-pressed', String(camOff));
  ui.mic.disabled = audio.length === 0;
  ui.cam.disabled = video.length === 0;
  ui.mic.title = audio.length === 0 ? 'No microphone' : app.micMuted ? 'Unmute microphone' : 'Mute microphone';
  ui.cam.title = video.length === 0 ? 'No camera' : app.camOff ? 'Turn camera on' : 'Turn camera off';
  ui.selfTile.classList.toggle('video-off', camOff);
  ui.selfTile.classList.toggle('mic-off', micOff);
  ui.hangup.disabled = app.calls.size === 0;
}

function renderAll() {
  showView();
  renderPeers();
  renderControls();
  layoutStage();
}

// ---------------------------------------------------------------------------------------
// Calls

/** @type {Record<RTCPeerConnectionState, string>} */
const CONNECTION_TEXT = {
  new: 'Connecting…',
  connecting: 'Connecting…',
  connected: 'Connected',
  disconnected: 'Reconnecting…',
  failed: 'Connection failed',
  closed: 'Ended',
};

/**
 * @param {CallEntry} entry
 */
function renderTile(entry) {
  const { call, tile } = entry;
  const state = call.pc.connectionState;
  tile.dataset.state = state;
  /** @type {HTMLElement} */ (tile.querySelector('.conn-text')).textContent = CONNECTION_TEXT[state] ?? state;
  tile.classList.toggle('has-video', call.firstFrameAt !== null);
  const name = nameOf(call.peerId);
  /** @type {HTMLElement} */ (tile.querySelector('.peer-name')).textContent = name;
  /** @type {HTMLElement} */ (tile.querySelector('.initial')).textContent = initialOf(name);
}

/**
 * Creates the call (and its tile) with a peer, if there is none yet.
 * @param {string} peerId
 * @param {'offer' | 'await-offer'} mode offer at once, or first give the peer (a
 *   newcomer, or a caller whose offer is at hand) the chance to offer
 * @returns {CallEntry | null}
 */
function ensureCall(peerId, mode) {
  const existing = app.calls.get(peerId);
  if (existing) return existing;
  const sig = app.signaling;
  if (!sig || !app.peerId || peerId === app.peerId) return null;

  const frag = /** @type {DocumentFragment} */ (ui.tileTemplate.content.cloneNode(true));
  const tile = /** @type {HTMLElement} */ (frag.querySelector('.tile'));
  tile.dataset.peerId = peerId;
  const video = /** @type {HTMLVideoElement} */ (tile.querySelector('video'));
  const unmute = /** @type {HTMLButtonElement} */ (tile.querySelector('button.unmute'));
  unmute.setAttribute('aria-label', `Play sound from ${nameOf(peerId)}`);
  unmute.addEventListener('click', () => {
    video.muted = false;
    video.play().catch(() => {});
    unmute.hidden = true;
  });
  ui.stage.insertBefore(tile, ui.selfTile);

  const call = new PeerCall({
    myId: app.peerId,
    peerId,
    iceServers: app.iceServers,
    localStream: app.localStream,
    signaling: {
      sendOffer: (to, sdp) => sig.sendOffer(to, sdp),
      sendAnswer: (to, sdp) => sig.sendAnswer(to, sdp),
      sendCandidate: (to, c) => sig.sendCandidate(to, c),
    },
    video,
    joinedAt: app.joinedAt,
    waitForOfferMs: mode === 'await-offer' ? WAIT_FOR_OFFER_MS : 0,
    onChange: () => {
      const entry = app.calls.get(peerId);
      if (entry && entry.call === call) renderTile(entry);
    },
    onAutoplayBlocked: () => {
      unmute.hidden = false;
    },
    onStuck: () => replaceStuckCall(peerId, call),
    ...features.callOptions,
  });
  /** @type {CallEntry} */
  const entry = { call, tile };
  app.calls.set(peerId, entry);
  features.added(call, tile);
  renderTile(entry);
  renderAll();
  return entry;
}

/**
 * Ends the call with one peer (without telling them) and removes its tile.
 * @param {string} peerId
 */
function endCall(peerId) {
  const entry = app.calls.get(peerId);
  if (!entry) return;
  const session = entry.call.remoteSessionId();
  if (session) {
    let set = app.endedSessions.get(peerId);
    if (!set) app.endedSessions.set(peerId, (set = new Set()));
    set.add(session);
  }
  entry.call.close();
  entry.tile.remove();
  app.calls.delete(peerId);
  features.removed(peerId);
  renderAll();
}

function endAllCalls() {
  for (const id of [...app.calls.keys()]) endCall(id);
}

/** Hangs up on everyone: they are told, and we stay in the room. */
function hangupAll() {
  const sig = app.signaling;
  app.autoCall = false;
  for (const id of [...app.calls.keys()]) {
    sig?.sendHangup(id);
    endCall(id);
  }
  renderAll();
}

/**
 * Replaces a call whose connection never got going (see STUCK_ICE_MS in call.js): hang
 * it up and call again with a fresh connection. The peer answers the new offer with a
 * fresh connection of its own.
 * @param {string} peerId
 * @param {PeerCall} call
 */
function replaceStuckCall(peerId, call) {
  const entry = app.calls.get(peerId);
  const sig = app.signaling;
  if (!entry || entry.call !== call || !sig) return;
  const tries = (app.stuckRetries.get(peerId) ?? 0) + 1;
  if (tries > MAX_STUCK_RETRIES) return;
  app.stuckRetries.set(peerId, tries);
  sig.sendHangup(peerId);
  endCall(peerId);
  ensureCall(peerId, 'offer');
}

/** @param {string} peerId */
function callPeer(peerId) {
  if (app.state !== 'in-room' || app.disconnected || !app.peers.has(peerId)) return;
  app.autoCall = true;
  ensureCall(peerId, 'offer');
}

// ---------------------------------------------------------------------------------------
// Signaling events

/**
 * @param {Signaling} sig
 */
function wire(sig) {
  const live = () => app.signaling === sig;

  sig.on('welcome', (w) => {
    if (!live()) return;
    app.peerId = w.peerId;
    app.iceServers = w.iceServers.map((s) => {
      /** @type {RTCIceServer} */
      const out = { urls: s.urls };
      if (s.username) out.username = s.username;
      if (s.credential) out.credential = s.credential;
      return out;
    });
  });

  sig.on('joined', (j) => {
    if (!live()) return;
    app.state = 'in-room';
    app.room = j.room;
    app.joinedAt = performance.now();
    app.peerId = j.you.id;
    app.peers.clear();
    for (const p of j.peers) app.peers.set(p.id, p);
    chat.start(j.history, j.you.id, (text) => sig.sendChat(text));
    ui.roomName.textContent = j.room;
    history.replaceState(null, '', `/r/${encodeURIComponent(j.room)}`);
    renderAll();
    // We call everyone here. They create their side on `peerJoined` and wait briefly for
    // our offer; if both offer anyway, perfect negotiation sorts it out.
    for (const p of j.peers) ensureCall(p.id, 'offer');
  });

  sig.on('peerJoined', ({ peer }) => {
    if (!live() || app.state !== 'in-room') return;
    app.peers.set(peer.id, peer);
    renderAll();
    // The newcomer offers to everyone it finds; we answer (or offer, if it does not).
    if (app.autoCall) ensureCall(peer.id, 'await-offer');
  });

  sig.on('peerLeft', ({ peerId }) => {
    if (!live()) return;
    endCall(peerId);
    app.peers.delete(peerId);
    app.endedSessions.delete(peerId);
    renderAll();
  });

  sig.on('offer', ({ from, sdp }) => {
    if (!live() || app.state !== 'in-room') return;
    let entry = app.calls.get(from) ?? null;
    if (!entry) {
      const session = sessionIdOf(sdp);
      if (session && app.endedSessions.get(from)?.has(session)) return; // from a call that ended
      entry = ensureCall(from, 'await-offer'); // they are calling us
      if (!entry) return;
    }
    entry.call.handleDescription({ type: 'offer', sdp });
  });

  sig.on('answer', ({ from, sdp }) => {
    if (!live()) return;
    app.calls.get(from)?.call.handleDescription({ type: 'answer', sdp });
  });

  sig.on('candidate', ({ from, candidate }) => {
    if (!live()) return;
    app.calls.get(from)?.call.handleCandidate(candidate);
  });

  sig.on('hangup', ({ from }) => {
    if (!live()) return;
    endCall(from);
  });

  sig.on('chat', (m) => {
    if (live()) chat.receive(m.message, m.ref);
  });

  sig.on('serverError', (e) => {
    if (!live()) return;
    if (e.code === 'unknown_peer') {
      // A relayed message crossed the peer's departure; `peerLeft` tidies up.
      console.warn(`confab: ${e.message}`);
      return;
    }
    showError(describeServerError(e));
  });

  sig.on('protocolError', (e) => {
    console.warn('confab: ignoring a malformed server message:', e.message);
  });

  sig.on('close', (info) => {
    if (!live() || info.expected) return;
    if (app.state === 'in-room') {
      app.disconnected = true;
      chat.setEnabled(false);
      const why = describeClose(info.code) ?? 'The connection to the server closed.';
      showError(
        app.calls.size > 0
          ? `${why} Calls in progress can continue, but to reconnect, leave and join again.`
          : `${why} Leave and join again to reconnect.`,
      );
      renderAll();
    }
    // While connecting, joinRoom() reports the failure.
  });
}

// ---------------------------------------------------------------------------------------
// Joining and leaving

function signalingUrl() {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${location.host}/ws`;
}

/**
 * @param {string} rawName
 * @param {string} room
 */
async function joinRoom(rawName, room) {
  if (app.state !== 'lobby') return;
  const problem = nameError(rawName) ?? roomError(room);
  if (problem) {
    showError(problem);
    (nameError(rawName) ? ui.name : ui.room).focus();
    return;
  }
  const name = trimName(rawName);
  try {
    localStorage.setItem(NAME_KEY, name);
  } catch {
    // Storage may be disabled; remembering the name is only a convenience.
  }
  clearError();
  const seq = ++app.joinSeq;
  app.state = 'connecting';
  app.name = name;
  app.room = room;
  app.peers.clear();
  app.disconnected = false;
  app.autoCall = true;
  app.micMuted = false;
  app.camOff = false;
  app.joinedAt = null;
  app.endedSessions.clear();
  app.stuckRetries.clear();
  ui.roomName.textContent = room;
  ui.selfInitial.textContent = initialOf(name);
  ui.meAvatar.textContent = initialOf(name);
  ui.meName.textContent = name;
  renderAll();

  // Camera and microphone first: the call is negotiated with whatever we get.
  ui.status.textContent = 'Starting camera and microphone…';
  const media = await startLocalMedia();
  if (app.state !== 'connecting' || app.joinSeq !== seq) {
    stopMedia(media.stream); // left while the permission prompt was open
    return;
  }
  app.localStream = media.stream;
  ui.localVideo.muted = true; // never play our own microphone back
  ui.localVideo.srcObject = media.stream;
  features.joined(media.stream);
  if (media.error) showError(media.error);
  renderAll();

  /** @type {Signaling} */
  let sig;
  try {
    sig = new Signaling(new WebSocket(signalingUrl()));
  } catch (err) {
    failJoin(`Could not connect to the server: ${err instanceof Error ? err.message : String(err)}`);
    return;
  }
  app.signaling = sig;
  wire(sig);
  try {
    await sig.ready;
    await sig.join(room, name);
  } catch (err) {
    if (app.signaling !== sig) return;
    const message =
      err instanceof SignalingError && err.code !== 'closed' && err.code !== 'timeout'
        ? describeServerError({ code: err.code, message: err.message })
        : err instanceof Error
          ? `Could not join the room: ${err.message}`
          : 'Could not join the room.';
    failJoin(message);
  }
}

/** @param {string} message */
function failJoin(message) {
  showError(message);
  resetToLobby();
}

function resetToLobby() {
  const sig = app.signaling;
  app.signaling = null;
  endAllCalls();
  features.left();
  if (sig) sig.close();
  stopMedia(app.localStream);
  app.localStream = null;
  ui.localVideo.srcObject = null;
  app.state = 'lobby';
  app.peerId = null;
  app.peers.clear();
  app.joinedAt = null;
  app.disconnected = false;
  chat.clear();
  ui.room.value = app.room ?? ui.room.value;
  renderAll();
}

/** Leaves the room (telling the server) and returns to the lobby. */
function leaveRoom() {
  const sig = app.signaling;
  app.signaling = null; // events from here on are ignored
  endAllCalls();
  if (sig) {
    // Say goodbye properly, then close; don't keep the user waiting for it.
    sig
      .leave()
      .catch(() => {})
      .finally(() => sig.close());
  }
  resetToLobby();
}

// ---------------------------------------------------------------------------------------
// Controls

ui.mic.addEventListener('click', () => {
  app.micMuted = !app.micMuted;
  for (const t of app.localStream?.getAudioTracks() ?? []) t.enabled = !app.micMuted;
  features.localStateChanged();
  renderControls();
});

ui.cam.addEventListener('click', () => {
  app.camOff = !app.camOff;
  for (const t of app.localStream?.getVideoTracks() ?? []) t.enabled = !app.camOff;
  features.localStateChanged();
  renderControls();
});

ui.hangup.addEventListener('click', () => hangupAll());
ui.leave.addEventListener('click', () => leaveRoom());
ui.errorClose.addEventListener('click', () => clearError());

/** @param {boolean} open */
function setPeopleOpen(open) {
  ui.roomView.classList.toggle('people-open', open);
  ui.roomView.classList.toggle('people-closed', !open);
  ui.peopleToggle.setAttribute('aria-expanded', String(open));
  ui.peopleToggle.setAttribute('aria-label', open ? 'Hide people' : 'Show people');
  if (open) chat.setOpen(false);
  requestAnimationFrame(layoutStage);
}

function peopleOpen() {
  // Open by default on wide screens, closed on narrow ones.
  if (ui.roomView.classList.contains('people-open')) return true;
  if (ui.roomView.classList.contains('people-closed')) return false;
  return window.matchMedia('(min-width: 900px)').matches;
}

ui.peopleToggle.addEventListener('click', () => setPeopleOpen(!peopleOpen()));
ui.peopleClose.addEventListener('click', () => setPeopleOpen(false));

ui.copyLink.addEventListener('click', async () => {
  if (!app.room) return;
  const url = `${location.origin}/r/${encodeURIComponent(app.room)}`;
  const label = /** @type {HTMLElement} */ (ui.copyLink.querySelector('.chip-text'));
  try {
    await navigator.clipboard.writeText(url);
    label.textContent = 'Copied!';
  } catch {
    window.prompt('Copy this link to invite others:', url);
  }
  setTimeout(() => (label.textContent = 'Copy link'), 2000);
});

ui.form.addEventListener('submit', (ev) => {
  ev.preventDefault();
  joinRoom(ui.name.value, ui.room.value.trim());
});

const ADJECTIVES = ['bright', 'calm', 'clever', 'cosy', 'eager', 'gentle', 'happy', 'jolly', 'lucky', 'quiet', 'sunny', 'swift', 'wise', 'brave', 'merry'];
const NOUNS = ['otter', 'falcon', 'maple', 'harbor', 'comet', 'meadow', 'panda', 'river', 'cedar', 'lynx', 'orchid', 'pebble', 'heron', 'willow', 'badger'];

/** @returns {string} */
function randomRoom() {
  /** @param {string[]} a */
  const pick = (a) => a[Math.floor(Math.random() * a.length)];
  return `${pick(ADJECTIVES)}-${pick(NOUNS)}-${Math.floor(100 + Math.random() * 900)}`;
}

ui.randomRoom.addEventListener('click', () => {
  ui.room.value = randomRoom();
  ui.room.focus();
});

window.addEventListener('resize', () => layoutStage());
if (typeof ResizeObserver === 'function') new ResizeObserver(() => layoutStage()).observe(ui.stage);
window.addEventListener('pagehide', () => app.signaling?.close());

// ---------------------------------------------------------------------------------------
// Debug handle for the browser tests (read-only)

const handle = Object.freeze(
  Object.defineProperties(
    {},
    {
      state: { enumerable: true, get: () => app.state },
      peerId: { enumerable: true, get: () => app.peerId },
      peers: { enumerable: true, get: () => [...app.peers.values()].map((p) => ({ id: p.id, name: p.name })) },
      callState: { enumerable: true, get: () => (app.calls.size > 0 ? 'in-call' : 'idle') },
      errors: { enumerable: true, get: () => [...app.errors] },
      chat: { enumerable: true, get: () => chat.messages.map((m) => ({ ...m })) },
      transfers: { enumerable: true, get: () => features.debug.transfers() },
      media: { enumerable: true, get: () => features.debug.media() },
      peerStates: { enumerable: true, get: () => features.debug.peerStates() },
      quality: { enumerable: true, value: () => features.debug.quality() },
      pcs: {
        enumerable: true,
        value: () => Object.fromEntries([...app.calls].map(([id, e]) => [id, e.call.pc])),
      },
      stats: {
        enumerable: true,
        /** @returns {Promise<Record<string, CallStats>>} */
        value: async () => {
          const entries = await Promise.all(
            [...app.calls].map(async ([id, e]) => /** @type {const} */ ([id, await e.call.stats()])),
          );
          return Object.fromEntries(entries);
        },
      },
    },
  ),
);
/** @type {any} */ (window).confab = handle;

// ---------------------------------------------------------------------------------------
// Start: fill the lobby from the URL and storage, maybe join at once.

function start() {
  const params = new URLSearchParams(location.search);
  const match = /^\/r\/([^/]+)\/?$/.exec(location.pathname);
  let room = params.get('room') ?? '';
  if (match) {
    try {
      room = decodeURIComponent(match[1]);
    } catch {
      room = match[1];
    }
  }
  /** @type {string | null} */
  let stored = null;
  try {
    stored = localStorage.getItem(NAME_KEY);
  } catch {
    // ignore: no storage
  }
  const name = params.get('name') ?? stored ?? '';
  ui.name.value = name;
  ui.room.value = room;
  renderAll();
  if (params.get('join') === '1' && name && room) {
    joinRoom(name, room);
  } else if (!name) {
    ui.name.focus();
  } else if (!room) {
    ui.room.focus();
  } else {
    ui.join.focus();
  }
}

start();
