// The SFU transport (web/js/media/sfu.js) against a fake RTCPeerConnection: the
// router's answer and its next offer, arriving milliseconds apart, are applied in order;
// an offer crossing ours is left to the router; tracks find their tiles by stream id.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SfuLink } from '../js/media/sfu.js';
import { SIMULCAST, layersFor } from '../js/media/layers.js';

const tick = () => new Promise((r) => setTimeout(r, 5));

/** A peer connection whose description steps take a few milliseconds, as a browser's do. */
class FakePC {
  /** @param {any} config */
  constructor(config) {
    this.config = config;
    /** @type {RTCSignalingState} */
    this.signalingState = 'stable';
    this.connectionState = 'new';
    this.iceConnectionState = 'new';
    /** @type {{type: string, sdp: string} | null} */
    this.localDescription = null;
    /** @type {{type: string, sdp: string} | null} */
    this.remoteDescription = null;
    /** @type {string[]} */
    this.log = [];
    /** @type {any[]} */
    this.transceivers = [];
    this.offers = 0;
    /** @type {any} */
    this.onnegotiationneeded = null;
    /** @type {any} */
    this.ontrack = null;
    /** @type {any} */
    this.onconnectionstatechange = null;
    FakePC.last = this;
  }
  /** @param {any} track @param {any} init */
  addTransceiver(track, init) {
    this.transceivers.push({ track, init });
    queueMicrotask(() => this.onnegotiationneeded?.());
  }
  getTransceivers() {
    return [];
  }
  getSenders() {
    return [];
  }
  async setLocalDescription() {
    await tick();
    if (this.signalingState === 'have-remote-offer') {
      this.localDescription = { type: 'answer', sdp: 'answer' };
      this.signalingState = 'stable';
    } else {
      this.offers++;
      this.localDescription = { type: 'offer', sdp: `offer-${this.offers}` };
      this.signalingState = 'have-local-offer';
    }
    this.log.push(`local ${this.localDescription.type}`);
  }
  /** @param {{type: string, sdp: string}} d */
  async setRemoteDescription(d) {
    await tick();
    if (d.type === 'answer' && this.signalingState !== 'have-local-offer') throw new Error('no offer to answer');
    if (d.type === 'offer' && this.signalingState !== 'stable') throw new Error('glare');
    this.signalingState = d.type === 'offer' ? 'have-remote-offer' : 'stable';
    this.remoteDescription = d;
    this.log.push(`remote ${d.type} ${d.sdp}`);
  }
  close() {
    this.signalingState = 'closed';
  }
  async getStats() {
    return new Map();
  }
}
/** @type {FakePC | null} */
FakePC.last = null;

function fakeStage() {
  /** @type {Map<string, any>} */
  const tiles = new Map();
  return {
    tiles,
    /** @param {string} peerId */
    create(peerId) {
      const video = {
        srcObject: /** @type {any} */ (null), videoWidth: 0, muted: false,
        play: async () => {},
        addEventListener() {},
      };
      const tile = { dataset: /** @type {Record<string, string>} */ ({ peerId }), hidden: false };
      tiles.set(peerId, { tile, video });
      return { tile, video, autoplayBlocked() {} };
    },
    render() {},
    /** @param {any} tile */
    remove(tile) {
      tiles.delete(tile.dataset.peerId);
    },
    layout() {},
  };
}

function link() {
  /** @type {string[]} */
  const sent = [];
  const stage = fakeStage();
  const track = { kind: 'video', id: 'cam' };
  const sfu = new SfuLink(/** @type {any} */ (stage), {
    signaling: () => ({
      sendSfuOffer: (/** @type {string} */ sdp) => sent.push(`offer ${sdp}`),
      sendSfuAnswer: (/** @type {string} */ sdp) => sent.push(`answer ${sdp}`),
    }),
    iceServers: () => [],
    localStream: () => /** @type {any} */ ({ getTracks: () => [track] }),
    joinedAt: () => null,
    nameOf: (id) => id,
    onChange: () => {},
    RTCPeerConnection: /** @type {any} */ (FakePC),
  });
  return { sfu, sent, stage };
}

test('sfu: the router answer and its next offer are applied in order, and the offer answered', async () => {
  const { sfu, sent } = link();
  sfu.joinCall(['bob']);
  const pc = /** @type {FakePC} */ (FakePC.last);
  assert.deepEqual(pc.transceivers.map((t) => t.init.direction), ['sendonly'], 'our camera goes out send-only');
  await tick();
  await tick();
  assert.deepEqual(sent, ['offer offer-1']);
  // They arrive back to back: the offer must wait for the answer to be applied.
  const a = sfu.handleSfu({ type: 'sfuAnswer', sdp: 'sfu-answer' });
  const b = sfu.handleSfu({ type: 'sfuOffer', sdp: 'sfu-offer' });
  await Promise.all([a, b]);
  assert.deepEqual(pc.log, ['local offer', 'remote answer sfu-answer', 'remote offer sfu-offer', 'local answer']);
  assert.deepEqual(sent, ['offer offer-1', 'answer answer']);
});

test('sfu: an offer of the router crossing ours is left alone (the router yields)', async () => {
  const { sfu, sent } = link();
  sfu.joinCall(['bob']);
  const pc = /** @type {FakePC} */ (FakePC.last);
  await tick();
  await tick();
  await sfu.handleSfu({ type: 'sfuOffer', sdp: 'crossing' });
  assert.equal(pc.signalingState, 'have-local-offer');
  assert.deepEqual(sent, ['offer offer-1'], 'no answer to a crossing offer');
  await sfu.handleSfu({ type: 'sfuAnswer', sdp: 'ok' });
  assert.equal(pc.signalingState, 'stable');
});

test('sfu: a failure told while our new connection\'s offer is out is the old one\'s, unless no answer comes', async (t) => {
  const { sfu } = link();
  sfu.joinCall(['bob']);
  const pc = /** @type {FakePC} */ (FakePC.last);
  await tick();
  await tick();
  assert.equal(pc.signalingState, 'have-local-offer');
  t.mock.timers.enable({ apis: ['setTimeout'] });
  // Lets the promise chains run, moving the mocked clock a little each turn.
  const settle = async () => {
    for (let i = 0; i < 20; i++) {
      await Promise.resolve();
      t.mock.timers.tick(5);
    }
  };
  // The old connection's failure, then our offer's answer: the new connection stays.
  sfu.failed();
  const answered = sfu.handleSfu({ type: 'sfuAnswer', sdp: 'sfu-answer' });
  await settle();
  await answered;
  t.mock.timers.tick(10_000);
  assert.equal(FakePC.last, pc, 'no new connection');
  assert.notEqual(pc.signalingState, 'closed');
  t.mock.timers.reset();

  // A new connection whose offer gets no answer after a failure: the router refused it.
  sfu.reset();
  sfu.joinCall(['bob']);
  const refused = /** @type {FakePC} */ (FakePC.last);
  await tick();
  await tick();
  t.mock.timers.enable({ apis: ['setTimeout'] });
  sfu.failed();
  for (let i = 0; i < 3; i++) {
    t.mock.timers.tick(5_000);
    await settle();
  }
  assert.equal(refused.signalingState, 'closed', 'given up');
  assert.notEqual(FakePC.last, refused, 'and made again');
  t.mock.timers.reset();
});

test('sfu: a track plays in the tile of the member its stream names, once that member is in our call', async () => {
  const { sfu, stage } = link();
  sfu.joinCall(['bob']);
  const pc = /** @type {FakePC} */ (FakePC.last);
  const bobStream = { id: 'bob' };
  const carolStream = { id: 'carol' };
  pc.ontrack({ track: { id: 't1', kind: 'video' }, streams: [bobStream] });
  pc.ontrack({ track: { id: 't2', kind: 'video' }, streams: [carolStream] });
  assert.equal(stage.tiles.get('bob').video.srcObject, bobStream);
  assert.ok(!stage.tiles.has('carol'), 'not a member yet: no tile');
  sfu.sync(new Set(['bob', 'carol']));
  assert.equal(stage.tiles.get('carol').video.srcObject, carolStream, 'her stream waited for her presence');
  sfu.sync(new Set(['carol']));
  assert.ok(!stage.tiles.has('bob'), 'Bob left the call: his tile goes');
  sfu.closeAll();
  assert.equal(stage.tiles.size, 0);
  assert.equal(pc.signalingState, 'closed');
});

test('video goes out in the simulcast layers its size allows, smallest first', () => {
  const heights = (/** @type {number} */ h) => layersFor(h).map((l) => l.rid);
  assert.deepEqual(heights(720), ['l', 'm', 'h']);
  assert.deepEqual(heights(540), ['l', 'm', 'h']);
  assert.deepEqual(heights(480), ['m', 'h']);
  assert.deepEqual(heights(360), ['m', 'h']);
  assert.deepEqual(heights(240), []);
  assert.ok(SIMULCAST.every((l, i) => i === 0 || l.maxBitrate > SIMULCAST[i - 1].maxBitrate));
});
