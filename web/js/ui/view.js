// The shell's own parts on screen: which view shows (lobby or room), the status line and
// page title, and the call controls (microphone, camera, hang-up) from our media and
// call state. The app (app.js) owns the state; these only render it.

import { t } from '../i18n/i18n.js';

/** @typedef {ReturnType<typeof import('./dom.js').shellElements>} Shell */
/** @typedef {import('./app.js').AppState} AppState */
/** @typedef {import('./calls.js').Calls} Calls */
/** @typedef {import('../room/room.js').Room} Room */

/** @param {Shell} ui @param {AppState} app @param {Calls} calls */
function renderStatus(ui, app, calls) {
  ui.status.textContent =
    app.state === 'connecting' ? t('status.connecting')
      : app.state === 'lobby' ? ''
        : app.disconnected ? t('status.reconnecting')
          : calls.statusText();
}

/** The lobby or the room, the page title and the status line. @param {Shell} ui @param {AppState} app @param {Calls} calls */
export function renderView(ui, app, calls) {
  const inLobby = app.state === 'lobby';
  ui.lobby.hidden = !inLobby;
  ui.roomView.hidden = inLobby;
  // Losing the server is said plainly, not only in the status line.
  ui.serverLost.hidden = inLobby || !app.disconnected;
  ui.join.disabled = app.state === 'connecting';
  document.title = inLobby || !app.room ? 'confab' : `${app.room} · confab`;
  renderStatus(ui, app, calls);
}

/**
 * The microphone, camera and hang-up buttons and our self tile.
 * @param {Shell} ui
 * @param {AppState} app
 * @param {Room} room
 * @param {Calls} calls
 */
export function renderCallControls(ui, app, room, calls) {
  const audio = app.localStream?.getAudioTracks() ?? [];
  const video = app.localStream?.getVideoTracks() ?? [];
  const micOff = app.micMuted || audio.length === 0;
  const camOff = app.camOff || video.length === 0;
  ui.mic.setAttribute('aria-pressed', String(micOff));
  ui.cam.setAttribute('aria-pressed', String(camOff));
  // Before any media, the buttons ask for it (ownmedia.js); once asked, a missing device
  // leaves its button disabled.
  const none = !app.localStream;
  ui.mic.disabled = !none && audio.length === 0;
  ui.cam.disabled = !none && video.length === 0;
  ui.mic.title = t(none ? 'controls.unmute' : audio.length === 0 ? 'controls.no_mic' : app.micMuted ? 'controls.unmute' : 'controls.mute');
  ui.cam.title = t(none ? 'controls.cam_on' : video.length === 0 ? 'controls.no_cam' : app.camOff ? 'controls.cam_on' : 'controls.cam_off');
  ui.selfTile.classList.toggle('video-off', camOff);
  // A viewer of a broadcast sends nothing: no self tile, no microphone, camera or screen
  // buttons (broadcast.css).
  const watching = app.state === 'in-room' && !room.mayPublish(room.myId) && !app.localStream;
  ui.roomView.classList.toggle('watching', watching);
  ui.selfTile.classList.toggle('mic-off', micOff);
  ui.hangup.disabled = calls.myCall() === null;
  ui.hangup.title = t(calls.members().size > 1 ? 'controls.leave_call_title' : 'controls.end_call_title');
}

