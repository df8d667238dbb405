// The shell's listeners on one signaling connection: every server message goes to the
// room model first (room/room.js), then to the views and the transport that act on it.
// Events from a connection that is not the app's any more (replaced on reconnect, or
// left) are ignored.

import { describeClose, describeServerError, toRtcIceServers } from '../net/protocol.js';
import { say, t } from '../i18n/i18n.js';
import { shouldReconnect } from '../net/reconnect.js';
import { Recall } from './recall.js';
import { SignalingError } from '../net/signaling.js';
import { showReaction } from './reactions.js';

/** @typedef {import('../net/signaling.js').Signaling} Signaling */

/**
 * What the listeners act on: the shell's state and views (see app.js).
 * @typedef {object} WireContext
 * @property {import('./app.js').AppState} app
 * @property {import('../room/room.js').Room} room
 * @property {import('./calls.js').Calls} calls
 * @property {import('../media/callmedia.js').CallMedia} transport the call's media
 * @property {import('./moderation.js').Moderation} moderation
 * @property {import('./broadcast.js').Broadcast} broadcast broadcast mode, hands, the stage
 * @property {import('./recording.js').RecordingUi} recording recording on the server
 * @property {import('./notices.js').RoomNotices} notices who comes and goes, in words
 * @property {import('./chat.js').ChatPanel} chat
 * @property {import('./access.js').Access} access
 * @property {HTMLElement} roomName
 * @property {(message: string) => void} showError
 * @property {() => void} renderAll
 * @property {(name: string) => void} showOwnName
 * @property {() => void} reportMedia
 * @property {import('./speakers.js').Speakers} speakers who talks, on the tiles
 * @property {(peerId: string, name: string) => void} renameTile a peer's tile shows its new name
 * @property {import('./localrec.js').LocalRecording} localRecording others recording on their devices
 */

/**
 * @param {Signaling} sig
 * @param {WireContext} c
 */
export function wireSignaling(sig, c) {
  const { app, room, calls, transport, moderation, broadcast, recording, notices, chat, access, roomName, showError,
    renderAll, showOwnName, reportMedia, speakers, renameTile, localRecording } = c;
  const live = () => app.signaling === sig;
  const recall = Recall.of(room, calls);
  // The room model hears roles and the lock before moderation says what changed.
  sig.on('roleChanged', (m) => live() && room.handle(m));
  sig.on('roomLocked', (m) => live() && room.handle(m));
  moderation.wire(sig, live); // first: it names departing peers before they are dropped
  broadcast.wire(sig, live); // before presence reaches the room model: it compares
  recording.wire(sig, live);
  notices.wire(sig, live); // before the room model hears presence: it compares
  localRecording.wire(sig, live); // the same

  sig.on('welcome', (w) => {
    if (!live()) return;
    app.resumed = w.resumed === true;
    room.handle(w);
    // STUN only: TURN credentials come to members, in `iceServers`.
    app.iceServers = toRtcIceServers(w.iceServers);
  });

  // Before `joined`, and again before the credentials expire: new connections use them,
  // and running ones get them for their ICE restarts.
  sig.on('iceServers', (m) => {
    if (!live()) return;
    app.iceServers = toRtcIceServers(m.iceServers);
    transport.setIceServers(app.iceServers);
  });

  sig.on('joined', (j) => {
    if (!live()) return;
    const again = app.state === 'in-room' && app.resumed;
    // A room made again on another server node (its own died) has forgotten our call,
    // while our peer connections carry on: re-create the call on them, as after a
    // server restart (the ids are the same here, so each rebinds to its own peer).
    const forgotten = app.state === 'in-room' && j.you.state.status === 'idle' && transport.size > 0;
    // An SFU call's connection went with its router: the call is made again (recall.js).
    const sfuPeers = forgotten && transport.mode === 'sfu' ? [...room.members()] : [];
    app.state = 'in-room';
    app.disconnected = false;
    app.room = j.room;
    if (!again || app.joinedAt === null) app.joinedAt = performance.now();
    room.handle(j);
    if (forgotten) {
      transport.orphanAll();
      room.forgetInvitations();
      transport.announce();
      recall.start(sfuPeers);
    }
    access.joined();
    if (j.you.name !== app.name) showOwnName(j.you.name); // a join token names us
    if (again) chat.resume(j.history, j.you.id, (text, key) => sig.sendChat(text, key));
    else chat.start(j.history, j.you.id, (text, key) => sig.sendChat(text, key));
    roomName.textContent = j.room;
    history.replaceState(null, '', `/r/${encodeURIComponent(j.room)}`);
    reportMedia();
    renderAll();
  });

  sig.on('peerJoined', (m) => {
    if (!live() || app.state !== 'in-room') return;
    room.handle(m);
    recall.arrived(m.peer.id);
    renderAll();
  });

  sig.on('peerLeft', (m) => {
    if (!live()) return;
    room.handle(m);
    calls.onPeerLeft(m.peerId);
  });

  sig.on('presence', (m) => {
    if (!live()) return;
    room.handle(m);
    speakers.follow(room.myCall());
    calls.onPresence();
  });

  sig.on('invited', (m) => {
    if (!live()) return;
    room.handle(m);
    calls.onInvited();
    // Re-creating a call that a server restart (or a node's death) ended: the other side
    // calls, we accept.
    if (transport.isKept(m.from) || recall.expects(m.from)) calls.accept();
  });

  sig.on('inviting', (m) => {
    if (!live()) return;
    room.handle(m);
    calls.onInviting();
  });

  sig.on('inviteEnded', (m) => {
    if (!live()) return;
    const ended = room.handle(m) ?? { outgoingEnded: false, incomingEnded: false };
    calls.onInviteEnded(m, ended);
  });

  sig.on('callJoined', (m) => {
    if (!live()) return;
    room.handle(m);
    calls.onCallJoined(m.members, m.media);
  });

  sig.on('callMode', (m) => {
    if (!live()) return;
    calls.onCallMode(m);
  });

  sig.on('activeSpeakers', (m) => {
    if (live()) speakers.handle(m, room.myCall());
  });

  sig.on('layers', (m) => {
    if (live()) transport.handleLayers(m, room.myCall());
  });

  sig.on('renamed', (m) => {
    if (!live()) return;
    room.handle(m);
    if (m.peerId === room.myId) showOwnName(m.name);
    else renameTile(m.peerId, m.name);
    renderAll();
  });

  sig.on('reacted', (m) => {
    if (live()) showReaction(m, { myId: room.myId, nameOf: (id) => room.nameOf(id) });
  });

  for (const type of /** @type {const} */ (['sfuOffer', 'sfuAnswer'])) {
    sig.on(type, (m) => {
      if (live()) transport.handleSfu(m);
    });
  }

  sig.on('offer', (m) => {
    if (!live() || app.state !== 'in-room') return;
    transport.handleSignal(m, room.members().has(m.from));
  });

  for (const type of /** @type {const} */ (['answer', 'candidate', 'hangup'])) {
    sig.on(type, (m) => {
      if (live()) transport.handleSignal(m, room.members().has(m.from));
    });
  }

  sig.on('chat', (m) => {
    if (!live()) return;
    room.handle(m);
    chat.receive(m.message, m.ref);
  });

  sig.on('serverError', (e) => {
    if (!live()) return;
    if (e.code === 'unknown_peer') {
      // A relayed message crossed the peer's departure; `peerLeft` tidies up.
      console.warn(`confab: ${e.message}`);
      return;
    }
    if (calls.onError(e)) return;
    if (e.code === 'media_failed') {
      // The SFU lost or refused our connection: a fresh one follows by itself.
      console.warn(`confab: ${e.message}`);
      transport.sfuFailed();
      return;
    }
    showError(say(describeServerError(e)));
  });

  sig.on('protocolError', (e) => {
    console.warn('confab: ignoring a malformed server message:', e.message);
  });

  sig.on('close', (info) => {
    if (!live() || info.expected) return;
    if (app.state === 'in-room' && app.reconnector && shouldReconnect(info)) {
      // The reconnector takes over; calls go on peer to peer meanwhile.
      app.disconnected = true;
      chat.setEnabled(false);
      renderAll();
      return;
    }
    if (app.state === 'in-room') {
      app.disconnected = true;
      chat.setEnabled(false);
      const why = describeClose(info.code) ?? { key: 'close.closed' };
      showError(t(transport.size > 0 ? 'close.keep_calls' : 'close.rejoin', { why }));
      renderAll();
    }
    // While connecting, joinRoom() reports the failure.
  });
}

/**
 * A replacement connection said welcome. Resumed: the server sends `joined` by itself
 * and our peer connections carry on under the same ids. Fresh (the server restarted, or
 * our place expired): join the room again, keep the peer connections as orphans (media
 * flows peer to peer) and rebind them to the peers' new ids as the peers announce them
 * over the connections themselves (transport.js).
 * @param {Signaling} sig
 * @param {import('../net/protocol.js').WelcomeMsg} w
 * @param {WireContext} c
 */
export async function rejoin(sig, w, c) {
  const { app, room, transport, access, showError } = c;
  if (app.signaling !== sig || app.state !== 'in-room' || !app.room) return;
  if (w.resumed) {
    transport.resumeSignaling();
    return;
  }
  transport.orphanAll();
  room.forgetInvitations();
  try {
    await sig.join(app.room, app.name, access.credentials(app.room));
  } catch (err) {
    if (app.signaling !== sig) return;
    showError(
      err instanceof SignalingError
        ? t('join.rejoin_failed', { detail: err.text })
        : err instanceof Error
          ? t('join.rejoin_failed', { detail: err.message })
          : t('join.rejoin_failed_plain'),
    );
    return;
  }
  transport.announce();
}
