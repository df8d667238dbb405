// Finding the page's elements: `$` checks each one's type (a missing or renamed element
// fails at load, loudly), and `shellElements` lists what the shell (app.js) uses. The ids
// are a contract with the browser tests (docs/web-test-contract.md).

/**
 * @template {HTMLElement} T
 * @param {string} id
 * @param {{new (): T}} type
 * @returns {T}
 */
export function $(id, type) {
  const el = document.getElementById(id);
  if (!(el instanceof type)) throw new Error(`confab: #${id} is missing from the page`);
  return el;
}

/** The elements app.js works with, looked up once. */
export function shellElements() {
  return {
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
    meStatus: $('me-status', HTMLElement),
    serverLost: $('server-lost', HTMLElement),
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
}
