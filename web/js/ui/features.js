// The in-call features (incall.js, files.js, screen.js, devices.js, quality.js) put
// together on the page. app.js talks to them only through the hooks returned here: it
// reports calls as they come and go, the local stream when it joins, and our own mute
// changes; everything else (buttons, menu, panels, drag and drop) is wired here.

import { InCall } from '../p2p/incall.js';
import { FileTransfers } from '../p2p/files.js';
import { ScreenShare } from '../media/screen.js';
import { Devices } from '../media/devices.js';
import { QualityPanel } from '../media/quality.js';
import { $ } from './dom.js';
import { setupMeetingBasics } from './basics.js';
import { closePanelsOnEscape, menuItems, menuKeys } from './keys.js';

/** @typedef {import('../media/call.js').PeerCall} PeerCall */

/**
 * @param {{nameOf: (peerId: string) => string, showError: (message: string) => void,
 *   onLocalTracksChanged: () => void,
 *   onPeerState: (peerId: string, state: import('../p2p/incall.js').PeerState | null) => void,
 *   files: import('../p2p/files.js').FileReach, presenting: (peerId: string) => boolean}} app
 *   `onPeerState`: what a peer said about its media on the call's control channel;
 *   `files`: how files reach members of a call through the router; `presenting`: whether
 *   a member shares its screen, by whichever report is newest (room.js)
 */
export function createCallFeatures(app) {
  const incall = new InCall({ nameOf: app.nameOf, onPeerState: app.onPeerState });
  const stage = $('stage', HTMLElement);
  setupMeetingBasics({ stage, timer: $('call-timer', HTMLElement), sheet: $('shortcuts', HTMLDialogElement),
    sheetButton: $('menu-shortcuts', HTMLElement) });
  const selfTile = $('self-tile', HTMLElement);

  const files = new FileTransfers(incall, {
    tray: $('transfers', HTMLOListElement),
    template: $('transfer-card', HTMLTemplateElement),
    input: $('file-input', HTMLInputElement),
    dropZone: stage,
  }, app.files);
  const screen = new ScreenShare(incall, {
    button: $('screen-toggle', HTMLButtonElement),
    menuItem: $('menu-screen', HTMLButtonElement),
    selfTile,
    onError: app.showError,
    onChange: app.onLocalTracksChanged,
  });
  const devicesPanel = $('devices', HTMLElement);
  const devices = new Devices(
    incall,
    screen,
    {
      camera: $('camera-select', HTMLSelectElement),
      mic: $('mic-select', HTMLSelectElement),
      speaker: $('speaker-select', HTMLSelectElement),
      speakerField: $('speaker-field', HTMLElement),
      stage,
    },
    { onError: app.showError, onChange: app.onLocalTracksChanged },
  );
  const qualityToggle = $('quality-toggle', HTMLButtonElement);
  const quality = new QualityPanel(incall, {
    panel: $('quality', HTMLElement),
    list: $('quality-list', HTMLElement),
    empty: $('quality-empty', HTMLElement),
    toggle: qualityToggle,
    close: $('quality-close', HTMLButtonElement),
    template: $('quality-card', HTMLTemplateElement),
  }, app.presenting);

  // The "more" menu: send a file, devices, call quality.
  const moreToggle = $('more-toggle', HTMLButtonElement);
  const menu = $('more-menu', HTMLElement);
  const devicesToggle = $('devices-toggle', HTMLButtonElement);
  /** @param {boolean} open */
  const setMenu = (open) => {
    menu.hidden = !open;
    moreToggle.setAttribute('aria-expanded', String(open));
    // The first item a person can use (the narrow screens' items are hidden on wide ones).
    if (open) menuItems(menu)[0]?.focus();
  };
  menuKeys(menu, () => setMenu(false));
  closePanelsOnEscape();
  moreToggle.addEventListener('click', (ev) => {
    ev.stopPropagation();
    setMenu(menu.hidden);
  });
  document.addEventListener('click', (ev) => {
    if (!menu.hidden && ev.target instanceof Node && !menu.contains(ev.target)) setMenu(false);
  });
  document.addEventListener('keydown', (ev) => {
    if (ev.key === 'Escape' && !menu.hidden) {
      ev.preventDefault(); // one Escape closes one thing (keys.js)
      setMenu(false);
      moreToggle.focus();
    }
  });
  // Menu items close the menu; the quality toggle's own handler (quality.js) runs too.
  menu.addEventListener('click', () => setMenu(false));
  $('send-file', HTMLButtonElement).addEventListener('click', () => files.pick(null));
  /** @param {boolean} open */
  const setDevicesOpen = (open) => {
    devicesPanel.hidden = !open;
    devicesToggle.setAttribute('aria-expanded', String(open));
    if (open) {
      quality.setOpen(false);
      devices.refresh().catch(() => {});
    }
  };
  devicesToggle.addEventListener('click', () => setDevicesOpen(devicesPanel.hidden));
  $('devices-close', HTMLButtonElement).addEventListener('click', () => setDevicesOpen(false));
  qualityToggle.addEventListener('click', () => {
    if (qualityToggle.getAttribute('aria-expanded') === 'true') setDevicesOpen(false);
  });

  const screenButton = $('screen-toggle', HTMLButtonElement);
  /** Files can be sent once someone is in the call (through the router too). */
  const renderAvailability = () => {
    const inCall = files.recipients().length > 0;
    $('send-file', HTMLButtonElement).disabled = !inCall;
    screenButton.disabled = !incall.stream;
    $('menu-screen', HTMLButtonElement).disabled = !incall.stream;
  };
  incall.onChange(renderAvailability);
  renderAvailability();

  return {
    /** Options to merge into every PeerCall's. */
    callOptions: {
      /** @param {PeerCall} call @param {RTCDataChannel} ch */
      onDataChannel: (call, ch) => incall.dataChannel(call, ch),
    },
    /**
     * Another sender of our tracks (the SFU connection): screen sharing and device
     * switching replace its tracks too.
     * @param {{replaceTrack: (kind: 'audio' | 'video', track: MediaStreamTrack | null) => Promise<unknown>}} sender
     */
    addSender: (sender) => incall.addSender(sender),
    /** Whether our outgoing video is our screen now. */
    sharingScreen: () => incall.sharingScreen,
    /**
     * More members to show in the quality panel (the SFU connection's), and a call to
     * make when they change.
     * @param {() => import('../media/quality.js').QualitySource[]} sources
     */
    addQualitySources: (sources) => quality.addSources(sources),
    /** The SFU connection's members changed. */
    transportChanged: () => {
      quality.callsChanged();
      renderAvailability();
    },
    /** A call (and its tile) exists. @param {PeerCall} call @param {HTMLElement} tile */
    added: (call, tile) => incall.add(call, tile),
    /** The call with this peer ended. @param {string} peerId */
    removed: (peerId) => incall.remove(peerId),
    /** We are in a room with this outgoing stream (app.js's localStream). @param {MediaStream | null} stream */
    joined: (stream) => {
      incall.stream = stream;
      renderAvailability();
      devices.attach().catch(() => {});
    },
    /** We left the room. */
    left: () => {
      files.clear();
      screen.reset();
      incall.clear();
      quality.setOpen(false);
      setDevicesOpen(false);
      renderAvailability();
    },
    /** Control messages peer to peer over each mesh call's control channel (p2p/incall.js). */
    control: {
      /** @param {string} peerId @param {{type: string} & Record<string, unknown>} msg */
      send: (peerId, msg) => incall.send(peerId, msg),
      /** @param {string} type @param {(peerId: string) => void} fn */
      on: (type, fn) => incall.on(type, (peerId) => fn(peerId)),
    },
    /** We muted, unmuted, or turned the camera on or off: tell the peers. */
    localStateChanged: () => incall.sendState(),
    /** For the read-only debug handle. */
    debug: {
      transfers: () => files.snapshot(),
      quality: () => quality.sample(),
      media: () => devices.snapshot(),
      peerStates: () =>
        Object.fromEntries(incall.calls().map((c) => [c.peerId, incall.peerState(c.peerId)])),
    },
  };
}
