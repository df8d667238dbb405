// The confab web app: lobby, room, calls. All protocol details live in net/ (messages in
// protocol.js, the WebSocket client in signaling.js), what we know about the room in
// room/room.js (fed every server message here), camera/microphone handling in
// media/local.js, per-peer WebRTC in media/call.js, the connections of our call in the
// transport (transport.js: media/mesh.js or media/sfu.js) with their tiles in stage.js,
// invitations in calls.js, the people panel in people.js and chat in chat.js; this module
// holds the connection state and wires them to the page. The ids and classes it uses
// are a contract with the browser tests: see docs/web-test-contract.md.

import { Signaling, SignalingError } from '../net/signaling.js';
import { describeClose, describeServerError, trimName } from '../net/protocol.js';
import { OwnMedia } from './ownmedia.js';
import { Broadcast } from './broadcast.js';
import { RecordingUi, recordingParts } from './recording.js';
import { renderCallControls, renderView } from './view.js';
import { ChatPanel } from './chat.js';
import { createCallFeatures } from './features.js';
import { createTransport } from './transport.js';
import { Room } from '../room/room.js';
import { Stage, initialOf } from './stage.js';
import { Speakers } from './speakers.js';
import { Layout } from './layout.js';
import { RoomNotices } from './notices.js';
import { Calls } from './calls.js';
import { renderPeople } from './people.js';
import { copyRoomLink, launchParams, randomRoom, rememberName } from './lobby.js';
import { installDebugHandle } from './debug.js';
import { ACCESS_CODES, Access } from './access.js';
import { LobbyErrors } from './lobbyform.js';
import { PreJoin } from './prejoin.js';
import { setupRename } from './rename.js';
import { LocalRecording } from './localrec.js';
import { Moderation } from './moderation.js';
import { Reconnector } from '../net/reconnect.js';
import { $, shellElements } from './dom.js';
import { rejoin, wireSignaling } from './wire.js';
import { initLanguage, onLanguageChange } from './language.js';
import { locale, say, t } from '../i18n/i18n.js';

// The language first: everything below words what it shows in it.
initLanguage();

// ---------------------------------------------------------------------------------------
// DOM

const ui = shellElements();

/** The join token of this tab, the password field and access refusals, in the lobby. */
const access = new Access({
  name: ui.name,
  room: ui.room,
  passwordField: $('password-field', HTMLElement),
  password: $('password', HTMLInputElement),
  passwordNote: $('password-note', HTMLElement),
  note: $('access-note', HTMLElement),
});
/** The camera and microphone check before joining. */
const prejoin = new PreJoin();
const lobbyErrors = new LobbyErrors({ name: ui.name, room: ui.room,
  nameError: $('name-error', HTMLElement), roomError: $('room-error', HTMLElement) });

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
      requestAnimationFrame(() => transport.layout());
    },
  },
);

// ---------------------------------------------------------------------------------------
// State

/** Who is in the room, presence, roles, invitations, chat: fed every server message. */
const room = new Room();

/** @typedef {typeof app} AppState */

const app = {
  /** @type {'lobby' | 'connecting' | 'in-room'} */
  state: 'lobby',
  /** Counts join attempts, so a slow one that was abandoned can tell. */
  joinSeq: 0,
  /** @type {string | null} */
  room: null,
  /** @type {string} */
  name: '',
  /** @type {string[]} */
  errors: [],
  /** @type {Signaling | null} */
  signaling: null,
  /** Replaces the signaling connection when it drops (reconnect.js). @type {Reconnector | null} */
  reconnector: null,
  /** The last welcome resumed our identity (so `joined` is the same room again). */
  resumed: false,
  /** @type {RTCIceServer[]} */
  iceServers: [],
  /** @type {MediaStream | null} */
  localStream: null,
  /** performance.now() when the server confirmed our join. @type {number | null} */
  joinedAt: null,
  /** The signaling connection dropped while in the room. */
  disconnected: false,
  micMuted: false,
  camOff: false,
};

/** The tiles; what they say about each peer's media comes from the room model. */
const stage = new Stage(
  { stage: ui.stage, selfTile: ui.selfTile, tileTemplate: ui.tileTemplate },
  (peerId) => room.media(peerId),
  (peerId) => room.peers.get(peerId)?.state.reconnecting === true,
);

/** The call's transport (media/transport.js): the mesh, or the SFU once the server says so. */
const { transport, sfu } = createTransport(stage, {
  signaling: () => app.signaling,
  myId: () => room.myId,
  iceServers: () => app.iceServers,
  localStream: () => app.localStream,
  joinedAt: () => app.joinedAt,
  nameOf: (id) => nameOf(id),
  isInRoom: (peerId) => room.peers.has(peerId),
  onChange: () => renderAll(),
  features: () => features,
  onRebound: (peerId) => onRebound(peerId),
});
/** Who talks in a call through the router: marks their tiles (`activeSpeakers`). */
const speakers = new Speakers(ui.stage, { meshPcs: () => transport.meshPcs(), myCall: () => room.myCall() });
/** The grid, or the speaker view (the loudest or the pinned tile big). */
const layout = new Layout(ui.stage, speakers, $('menu-layout', HTMLButtonElement));
speakers.onChange(() => layout.apply());
/** "Bob joined", "Bob left", "Bob's connection dropped, reconnecting…". */
const notices = new RoomNotices($('room-notice', HTMLElement), room);

/** @type {Calls} */
const calls = new Calls(
  {
    incoming: $('incoming', HTMLElement),
    incomingAvatar: $('incoming-avatar', HTMLElement),
    incomingTitle: $('incoming-title', HTMLElement),
    incomingDetail: $('incoming-detail', HTMLElement),
    accept: $('accept-call', HTMLButtonElement),
    decline: $('decline-call', HTMLButtonElement),
    outgoing: $('outgoing', HTMLUListElement),
    joinCall: $('join-call', HTMLButtonElement),
    notice: $('call-notice', HTMLElement),
  },
  { signaling: () => app.signaling, room, transport, onChange: () => renderAll(), ready: () => ownMedia.ready() },
);

/** Recording on the server: the host's toggle, everyone's red dot. */
const recordingUi = new RecordingUi(
  recordingParts(),
  { signaling: () => app.signaling, room, notice: (text) => calls.setNotice(text), onChange: () => renderAll() },
);

/** Broadcast mode, raised hands and the stage. */
const broadcastUi = new Broadcast(
  {
    toggle: $('broadcast-toggle', HTMLButtonElement),
    menuToggle: $('menu-broadcast', HTMLButtonElement),
    tag: $('broadcast-tag', HTMLElement),
    hand: $('hand-toggle', HTMLButtonElement),
    menuHand: $('menu-hand', HTMLButtonElement),
    list: ui.peerList,
    viewers: $('viewer-count', HTMLElement),
    meName: ui.meName,
  },
  { signaling: () => app.signaling, room, calls, notice: (text) => calls.setNotice(text), onChange: () => renderAll() },
);

/** Roles, the host's mute/remove/lock actions and what they did, in words. */
const moderation = new Moderation(
  {
    list: ui.peerList,
    lock: $('lock-room', HTMLButtonElement),
    locked: $('room-locked', HTMLElement),
    meRole: $('me-role', HTMLElement),
  },
  {
    signaling: () => app.signaling,
    room,
    nameOf: (id) => nameOf(id),
    notice: (text) => calls.setNotice(text),
    muteMic: () => ownMedia.setMicMuted(true),
    cancelWaiting: () => leaveRoom(),
    removed: (sentence) => {
      app.errors.push(sentence);
      resetToLobby();
      access.say(sentence, true);
    },
    onChange: () => renderAll(),
  },
);

/** Recording the call on this device, the room told. */
const localRec = new LocalRecording({ signaling: () => app.signaling, room, stage: ui.stage,
  notice: (text) => calls.setNotice(text), roomName: () => app.room ?? '', inCall: () => calls.myCall() !== null });

/** Renaming ourselves; a join token's name stays. */
const renaming = setupRename({ signaling: () => app.signaling, current: () => app.name,
  fixed: () => Boolean(app.room && access.credentials(app.room).token) });

/** File transfer, screen share, devices, call quality: told about calls as they come and go. */
const features = createCallFeatures({
  nameOf,
  showError,
  onLocalTracksChanged: () => { renderControls(); if (app.state === 'in-room') reportMedia(); },
  // A peer's report on the call's control channel goes into the room model (room/room.js).
  onPeerState: (peerId, state) => {
    room.peerReported(peerId, state);
    transport.renderTiles();
    renderAll();
  },
  files: { members: () => [...room.members()], open: (peerId) => transport.openData(peerId) },
  presenting: (peerId) => room.media(peerId).screen,
});
// Screen sharing and device switches replace the SFU connection's tracks too; its members are in the quality panel.
features.addSender(sfu);
features.addQualitySources(() => sfu.qualitySources());

/** Our camera and microphone: asked for once the room lets us send media. */
const ownMedia = new OwnMedia({
  app, room, transport, localVideo: ui.localVideo, showError, reportMedia, renderAll,
  localStateChanged: () => features.localStateChanged(),
  streamChanged: (stream) => features.joined(stream),
});

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
 * @param {string} id
 * @returns {string}
 */
function nameOf(id) {
  return calls.nameOf(id);
}

function showView() {
  renderView(ui, app, calls);
}

function renderControls() {
  renderCallControls(ui, app, room, calls);
}

function renderAll() {
  showView();
  renderPeople(
    {
      list: ui.peerList,
      template: ui.peerTemplate,
      count: ui.peopleCount,
      empty: ui.peopleEmpty,
      badge: ui.peopleBadge,
      meStatus: ui.meStatus,
    },
    room,
    calls,
    app.disconnected,
  );
  moderation.render();
  renaming.render();
  localRec.render();
  broadcastUi.render();
  recordingUi.render();
  calls.render();
  renderControls();
  transport.layout();
  ui.roomView.classList.toggle('in-call', calls.myCall() !== null);
  ownMedia.sync();
}

/** Tells the room our microphone, camera and screen state (people list; screens shown whole). */
function reportMedia() {
  const audio = app.localStream?.getAudioTracks() ?? [];
  const video = app.localStream?.getVideoTracks() ?? [];
  app.signaling?.sendMedia(app.micMuted || audio.length === 0, app.camOff || video.length === 0, features.sharingScreen());
}

// ---------------------------------------------------------------------------------------
// Signaling events (wire.js)

/** What wire.js acts on. @returns {import('./wire.js').WireContext} */
const wireContext = () => ({
  app, room, calls, transport, moderation, broadcast: broadcastUi, recording: recordingUi, notices, chat, access,
  roomName: ui.roomName,
  showError, renderAll, showOwnName, reportMedia, speakers,
  renameTile: (peerId, name) => stage.rename(peerId, name), localRecording: localRec,
});

/** @param {Signaling} sig */
function wire(sig) {
  wireSignaling(sig, wireContext());
}

// ---------------------------------------------------------------------------------------
// Joining and leaving

function signalingUrl() {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${location.host}/ws`;
}

/**
 * @param {string} rawName
 * @param {string} roomId
 */
async function joinRoom(rawName, roomId) {
  if (app.state !== 'lobby') return;
  const problem = lobbyErrors.check(rawName, roomId);
  if (problem) return void app.errors.push(problem);
  const name = trimName(rawName);
  rememberName(name);
  clearError();
  ++app.joinSeq;
  app.state = 'connecting';
  app.name = name;
  app.room = roomId;
  room.reset();
  app.disconnected = false;
  // The lobby's check, if used: its stream and whether the camera or microphone is off.
  const checked = prejoin.take();
  app.micMuted = checked.micOff;
  app.camOff = checked.camOff;
  app.joinedAt = null;
  calls.reset();
  if (checked.stream) ownMedia.adopt(checked.stream);
  ui.roomName.textContent = roomId;
  showOwnName(name);
  renderAll();

  // Otherwise camera and microphone wait for the person to ask, after `joined`
  // (ownmedia.js): a viewer of a broadcast is never asked for them.
  /** @type {Signaling} */
  let sig;
  try {
    sig = new Signaling(new WebSocket(signalingUrl()));
  } catch (err) {
    failJoin(t('join.connect_failed', { detail: err instanceof Error ? err.message : String(err) }));
    return;
  }
  app.signaling = sig;
  wire(sig);
  startReconnector(sig);
  try {
    await sig.ready;
    await sig.join(roomId, name, access.credentials(roomId));
  } catch (err) {
    if (app.signaling !== sig) return;
    if (err instanceof SignalingError && ACCESS_CODES.includes(err.code)) {
      // Said next to the join form (where the password goes), not in a toast; after the
      // lobby is back on screen, so the password field can take the focus.
      resetToLobby();
      app.errors.push(access.refused(err.code) ?? say(err.text));
      return;
    }
    const message =
      err instanceof SignalingError && err.code !== 'closed' && err.code !== 'timeout'
        ? say(describeServerError({ code: err.code, message: err.message }))
        : err instanceof SignalingError
          ? t('join.failed', { detail: err.text })
          : err instanceof Error
            ? t('join.failed', { detail: err.message })
            : t('join.failed_plain');
    failJoin(message, err instanceof SignalingError ? err.code : '');
  }
}

/**
 * Shows our own name (and initial) in the room view.
 * @param {string} name
 */
function showOwnName(name) {
  app.name = name;
  ui.selfInitial.textContent = initialOf(name);
  ui.meAvatar.textContent = initialOf(name);
  ui.meName.textContent = name;
}

/**
 * Keeps the signaling connection up while in the room (reconnect.js).
 * @param {Signaling} first
 */
function startReconnector(first) {
  app.reconnector?.stop();
  const r = new Reconnector({
    open: (resume) => new Signaling(new WebSocket(signalingUrl()), { resume }),
    onOpen: (sig) => {
      app.signaling = sig;
      wire(sig);
    },
    onReady: (sig, w) => {
      onReconnected(sig, w).catch((err) => console.error('confab: rejoining failed', err));
    },
    onWaiting: () => renderAll(),
  });
  r.watch(first);
  app.reconnector = r;
}

/**
 * A replacement connection said welcome (wire.js's `rejoin`).
 * @param {Signaling} sig
 * @param {import('../net/protocol.js').WelcomeMsg} w
 */
function onReconnected(sig, w) {
  return rejoin(sig, w, wireContext());
}

/**
 * A connection from before a server restart belongs to `peerId` now: re-create the
 * call. The side with the smaller id invites; the other accepts (see 'invited').
 * @param {string} peerId
 */
function onRebound(peerId) {
  if (room.myId && room.myId < peerId) calls.invite(peerId);
  else if (calls.incoming?.from === peerId) calls.accept();
}

/** @param {string} message */
function failJoin(message, code = '') {
  app.errors.push(message);
  resetToLobby();
  // Next to the field it concerns, else next to the Join button; never a toast far away.
  if (!lobbyErrors.refused(code, message)) access.say(message, true);
}

function resetToLobby() {
  const sig = app.signaling;
  app.signaling = null;
  app.reconnector?.stop();
  app.reconnector = null;
  localRec.stop(); // saved before the room goes
  calls.reset();
  features.left();
  if (sig) sig.close();
  ownMedia.reset();
  app.state = 'lobby';
  room.reset();
  moderation.reset();
  broadcastUi.reset();
  layout.reset();
  notices.reset();
  app.joinedAt = null;
  app.disconnected = false;
  chat.clear();
  ui.room.value = app.room ?? ui.room.value;
  renderAll();
}

/** Leaves the room (telling the server) and returns to the lobby. */
function leaveRoom() {
  const sig = app.signaling;
  app.reconnector?.stop(); // a deliberate leave: never reconnect
  app.reconnector = null;
  app.signaling = null; // events from here on are ignored
  calls.reset();
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

ui.mic.addEventListener('click', () => ownMedia.toggleMic());
ui.cam.addEventListener('click', () => ownMedia.toggleCam());
ui.hangup.addEventListener('click', () => calls.hangup());
ui.leave.addEventListener('click', () => leaveRoom());
ui.errorClose.addEventListener('click', () => clearError());

/** @param {boolean} open */
function setPeopleOpen(open) {
  ui.roomView.classList.toggle('people-open', open);
  ui.roomView.classList.toggle('people-closed', !open);
  ui.peopleToggle.setAttribute('aria-expanded', String(open));
  ui.peopleToggle.setAttribute('aria-label', t(open ? 'controls.hide_people' : 'controls.show_people'));
  if (open) chat.setOpen(false);
  requestAnimationFrame(() => transport.layout());
}

function peopleOpen() {
  // Open by default on wide screens, closed on narrow ones.
  if (ui.roomView.classList.contains('people-open')) return true;
  if (ui.roomView.classList.contains('people-closed')) return false;
  return window.matchMedia('(min-width: 900px)').matches;
}

ui.peopleToggle.addEventListener('click', () => setPeopleOpen(!peopleOpen()));
ui.peopleClose.addEventListener('click', () => setPeopleOpen(false));

ui.copyLink.addEventListener('click', () => {
  if (app.room) copyRoomLink(ui.copyLink, app.room);
});

ui.form.addEventListener('submit', (ev) => {
  ev.preventDefault();
  // NFC: "café" typed as e + a combining accent is the same room as the one-letter é.
  joinRoom(ui.name.value, ui.room.value.trim().normalize('NFC'));
});

ui.randomRoom.addEventListener('click', () => {
  ui.room.value = randomRoom(locale());
  ui.room.dispatchEvent(new Event('input')); // what the field said about the old name goes
  ui.room.focus();
});

window.addEventListener('resize', () => transport.layout());
if (typeof ResizeObserver === 'function') new ResizeObserver(() => transport.layout()).observe(ui.stage);
window.addEventListener('pagehide', () => {
  // Leaving the page is a leave: say so, or the server holds our place for the grace.
  app.reconnector?.stop();
  const sig = app.signaling;
  if (sig && app.state === 'in-room') sig.leave().catch(() => {});
  sig?.close();
});

// ---------------------------------------------------------------------------------------
// Debug handle for the browser tests (read-only)

installDebugHandle({
  features: features.debug,
  state: () => app.state,
  room,
  errors: () => app.errors,
  chat: () => chat.messages,
  calls,
  transport,
  speakers,
  layout,
  roomNotices: () => notices.shown,
  prejoin: () => prejoin.snapshot(),
  signaling: () => ({ connected: !app.disconnected, reconnects: app.reconnector?.reconnects ?? 0 }),
});

// ---------------------------------------------------------------------------------------
// Start: fill the lobby from the URL and storage, maybe join at once.

// A switch of language (in the lobby) words again what the views set themselves.
onLanguageChange(() => {
  chat.setEnabled(chat.enabled);
  renderAll();
});

function start() {
  const { name, room: roomId, join } = access.launch(launchParams());
  ui.name.value = name;
  ui.room.value = roomId;
  renderAll();
  if (join && name && roomId) {
    joinRoom(name, roomId);
  } else if (!name) {
    ui.name.focus();
  } else if (!roomId) {
    ui.room.focus();
  } else {
    ui.join.focus();
  }
}

start();
