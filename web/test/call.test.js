// PeerCall's perfect negotiation and stats, against a fake RTCPeerConnection.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DISCONNECTED_RESTART_MS, PeerCall, isDataOnly, sessionIdOf } from '../js/media/call.js';

const tick = () => new Promise((r) => setImmediate(r));

/** Just enough of RTCPeerConnection for PeerCall's negotiation logic. */
class FakePC {
  static last = /** @type {FakePC | null} */ (null);
  /** @param {RTCConfiguration} config */
  constructor(config) {
    FakePC.last = this;
    this.config = config;
    this.signalingState = 'stable';
    this.iceConnectionState = 'new';
    this.connectionState = 'new';
    this.localDescription = null;
    this.remoteDescription = null;
    this.currentRemoteDescription = null;
    /** @type {any[]} */
    this.transceivers = [];
    /** @type {any[]} */
    this.candidates = [];
    /** @type {string[]} */
    this.log = [];
    this.offers = 0;
    this.nnQueued = false;
    // The event handlers PeerCall sets (the tests call them as the browser would).
    /** @type {any} */
    this.onsignalingstatechange = null;
    /** @type {any} */
    this.onnegotiationneeded = null;
    /** @type {any} */
    this.onicecandidate = null;
    /** @type {any} */
    this.oniceconnectionstatechange = null;
    /** @type {Map<string, any>} */
    this.statsReport = new Map();
    this.closed = false;
    this.refuseConfiguration = false;
  }
  /** @param {string} s */
  setState(s) {
    this.signalingState = s;
    this.onsignalingstatechange?.();
  }
  /** @param {any} track */
  addTrack(track) {
    this.log.push(`addTrack ${track.kind}`);
    const reuse = this.transceivers.find((t) => t.kind === track.kind && !t.sending && t.fromRemote);
    if (reuse) reuse.sending = true;
    else this.transceivers.push({ kind: track.kind, sending: true, receiver: { track: { kind: track.kind } } });
    this.negotiationNeeded();
  }
  /** @param {string} kind @param {any} init */
  addTransceiver(kind, init) {
    this.log.push(`addTransceiver ${kind} ${init.direction}`);
    this.transceivers.push({ kind, sending: false, receiver: { track: { kind } } });
    this.negotiationNeeded();
  }
  getTransceivers() {
    return this.transceivers;
  }
  negotiationNeeded() {
    if (this.nnQueued) return;
    this.nnQueued = true;
    setImmediate(() => {
      this.nnQueued = false;
      if (this.signalingState === 'stable' && !this.closed && this.transceivers.some((t) => !t.negotiated)) {
        this.onnegotiationneeded?.();
      }
    });
  }
  /** @param {any} [desc] */
  async setLocalDescription(desc) {
    await tick();
    if (desc?.type === 'rollback') throw new Error('not used');
    if (this.signalingState === 'have-remote-offer') {
      this.localDescription = { type: 'answer', sdp: 'v=0\r\no=- 22 2 IN IP4 0.0.0.0\r\n' };
      for (const t of this.transceivers) t.negotiated = true;
      this.log.push('SLD answer');
      this.setState('stable');
    } else {
      this.offers++;
      this.localDescription = { type: 'offer', sdp: `v=0\r\no=- 11 ${this.offers + 1} IN IP4 0.0.0.0\r\n` };
      this.log.push('SLD offer');
      this.setState('have-local-offer');
    }
  }
  /** @param {any} desc */
  async setRemoteDescription(desc) {
    await tick();
    if (desc.type === 'offer') {
      if (this.signalingState === 'have-local-offer') this.log.push('rollback');
      this.log.push('SRD offer');
      if (!this.transceivers.some((t) => t.kind === 'audio')) {
        this.transceivers.push({ kind: 'audio', fromRemote: true, receiver: { track: { kind: 'audio' } } });
      }
      this.remoteDescription = desc;
      this.setState('have-remote-offer');
    } else {
      if (this.signalingState !== 'have-local-offer') throw new Error('InvalidStateError');
      this.log.push('SRD answer');
      for (const t of this.transceivers) t.negotiated = true;
      this.remoteDescription = desc;
      this.currentRemoteDescription = desc;
      this.setState('stable');
    }
  }
  /** @param {any} c */
  async addIceCandidate(c) {
    await tick();
    if (!this.remoteDescription) throw new Error('InvalidStateError: no remote description');
    this.candidates.push(c ?? 'end');
  }
  async getStats() {
    return this.statsReport;
  }
  restartIce() {
    this.log.push('restartIce');
  }
  getConfiguration() {
    return { ...this.config };
  }
  /** @param {RTCConfiguration} config */
  setConfiguration(config) {
    if (this.refuseConfiguration) throw new Error('InvalidModificationError');
    this.log.push('setConfiguration');
    this.config = config;
  }
  close() {
    this.closed = true;
  }
}

function fakeVideo() {
  return { videoWidth: 640, srcObject: null, muted: false, addEventListener() {}, play: async () => {} };
}

function fakeStream() {
  const tracks = [{ kind: 'audio' }, { kind: 'video' }];
  return { getTracks: () => tracks };
}

/** @param {{myId?: string, peerId?: string, waitForOfferMs?: number, stream?: unknown, dataOnly?: boolean}} [opts] */
function makeCall({ myId = 'a', peerId = 'b', waitForOfferMs = 0, stream = fakeStream(), dataOnly = false } = {}) {
  /** @type {any[]} */
  const sent = [];
  const call = new PeerCall({
    myId,
    peerId,
    iceServers: [{ urls: ['stun:127.0.0.1:3478'] }],
    localStream: /** @type {any} */ (stream),
    signaling: {
      sendOffer: (to, sdp) => sent.push({ type: 'offer', to, sdp }),
      sendAnswer: (to, sdp) => sent.push({ type: 'answer', to, sdp }),
      sendCandidate: (to, candidate) => sent.push({ type: 'candidate', to, candidate }),
    },
    video: /** @type {any} */ (fakeVideo()),
    joinedAt: 1,
    waitForOfferMs,
    dataOnly,
    RTCPeerConnection: /** @type {any} */ (FakePC),
  });
  return { call, pc: /** @type {FakePC} */ (FakePC.last), sent };
}

const settle = async () => {
  for (let i = 0; i < 10; i++) await tick();
};

test('politeness is a plain string comparison of peer ids', () => {
  /** @type {[string, string, boolean][]} */
  const cases = [['a', 'b', true], ['b', 'a', false], ['B', 'a', true], ['a10', 'a9', true]];
  for (const [me, them, polite] of cases) {
    const { call } = makeCall({ myId: me, peerId: them });
    assert.equal(call.polite, polite, `${me} vs ${them}`);
    call.close();
  }
});

test('uses the ICE servers given and bundles everything', () => {
  const { call, pc } = makeCall();
  assert.deepEqual(pc.config.iceServers, [{ urls: ['stun:127.0.0.1:3478'] }]);
  assert.equal(pc.config.bundlePolicy, 'max-bundle');
  call.close();
});

test('adds its tracks and offers at once', async () => {
  const { call, pc, sent } = makeCall();
  await settle();
  assert.deepEqual(pc.log.slice(0, 3), ['addTrack audio', 'addTrack video', 'SLD offer']);
  assert.equal(sent[0].type, 'offer');
  assert.equal(sent[0].to, 'b');
  await call.handleDescription({ type: 'answer', sdp: 'v=0\r\no=- 99 2 IN IP4 0.0.0.0\r\n' });
  assert.equal(pc.signalingState, 'stable');
  assert.equal(call.remoteSessionId(), '99');
  call.close();
});

test('impolite side ignores a colliding offer and the candidates that follow it', async () => {
  const { call, pc, sent } = makeCall({ myId: 'z', peerId: 'a' });
  await settle();
  assert.equal(pc.signalingState, 'have-local-offer');
  const warn = console.warn;
  let warnings = 0;
  console.warn = () => warnings++;
  try {
    await call.handleDescription({ type: 'offer', sdp: 'v=0\r\n' });
    assert.equal(call.ignoreOffer, true);
    assert.ok(!pc.log.includes('SRD offer'), 'offer not applied');
    await call.handleCandidate({ candidate: 'candidate:1 1 udp 1 10.0.0.1 9 typ host', sdpMid: '0' });
    assert.equal(warnings, 0, 'failures for an ignored offer are silent');
  } finally {
    console.warn = warn;
  }
  assert.deepEqual(sent.map((m) => m.type), ['offer']);
  call.close();
});

test('polite side yields to a colliding offer: rolls back and answers', async () => {
  const { call, pc, sent } = makeCall({ myId: 'a', peerId: 'z' });
  await settle();
  assert.equal(pc.signalingState, 'have-local-offer');
  await call.handleDescription({ type: 'offer', sdp: 'v=0\r\n' });
  assert.equal(call.ignoreOffer, false);
  assert.ok(pc.log.includes('rollback'));
  assert.equal(pc.signalingState, 'stable');
  assert.deepEqual(sent.map((m) => m.type), ['offer', 'answer']);
  call.close();
});

test('an offer that arrives while our own is being made counts as a collision', async () => {
  const { call, pc, sent } = makeCall({ myId: 'z', peerId: 'a' });
  await tick(); // negotiationneeded fired; setLocalDescription in flight
  assert.equal(call.makingOffer, true);
  assert.equal(pc.signalingState, 'stable');
  await call.handleDescription({ type: 'offer', sdp: 'v=0\r\n' });
  assert.equal(call.ignoreOffer, true);
  await settle();
  assert.deepEqual(sent.map((m) => m.type), ['offer']);
  assert.equal(pc.signalingState, 'have-local-offer');
  call.close();
});

test('waiting for the peer offer: tracks are added after applying it, then we answer', async () => {
  const { call, pc, sent } = makeCall({ waitForOfferMs: 10_000 });
  await settle();
  assert.deepEqual(pc.log, [], 'nothing before the offer');
  await call.handleDescription({ type: 'offer', sdp: 'v=0\r\n' });
  assert.deepEqual(pc.log.slice(0, 4), ['SRD offer', 'addTrack audio', 'addTrack video', 'SLD answer']);
  assert.deepEqual(sent.map((m) => m.type), ['answer']);
  await settle();
  assert.deepEqual(sent.map((m) => m.type), ['answer'], 'no offer of our own');
  call.close();
});

test('waiting for the peer offer times out into offering ourselves', async () => {
  const { call, sent } = makeCall({ waitForOfferMs: 20 });
  await new Promise((r) => setTimeout(r, 40));
  await settle();
  assert.deepEqual(sent.map((m) => m.type), ['offer']);
  call.close();
});

test('without local media it still asks to receive audio and video', async () => {
  const { call, pc } = makeCall({ stream: /** @type {any} */ (null) });
  assert.deepEqual(pc.log, ['addTransceiver audio recvonly', 'addTransceiver video recvonly']);
  call.close();
});

test('local candidates are trickled; null is end of candidates', async () => {
  const { call, pc, sent } = makeCall();
  pc.onicecandidate({ candidate: { toJSON: () => ({ candidate: 'candidate:x', sdpMid: '0', sdpMLineIndex: 0 }) } });
  pc.onicecandidate({ candidate: null });
  assert.deepEqual(sent.filter((m) => m.type === 'candidate').map((m) => m.candidate), [
    { candidate: 'candidate:x', sdpMid: '0', sdpMLineIndex: 0 },
    null,
  ]);
  await call.handleDescription({ type: 'offer', sdp: 'v=0\r\n' });
  await call.handleCandidate({ candidate: 'candidate:y' });
  await call.handleCandidate(null);
  assert.deepEqual(pc.candidates, [{ candidate: 'candidate:y' }, 'end']);
  call.close();
});

test('stats read the selected candidate pair and inbound RTP', async () => {
  const { call, pc } = makeCall();
  pc.iceConnectionState = 'connected';
  pc.connectionState = 'connected';
  pc.statsReport = new Map(
    [
      { id: 'v', type: 'inbound-rtp', kind: 'video', framesDecoded: 42 },
      { id: 'a', type: 'inbound-rtp', kind: 'audio', packetsReceived: 99 },
      { id: 't', type: 'transport', selectedCandidatePairId: 'p2' },
      { id: 'p1', type: 'candidate-pair', state: 'succeeded', nominated: true, localCandidateId: 'l1', remoteCandidateId: 'r1' },
      { id: 'p2', type: 'candidate-pair', state: 'succeeded', nominated: true, localCandidateId: 'l2', remoteCandidateId: 'r2' },
      { id: 'l1', type: 'local-candidate', candidateType: 'host' },
      { id: 'r1', type: 'remote-candidate', candidateType: 'host' },
      { id: 'l2', type: 'local-candidate', candidateType: 'relay' },
      { id: 'r2', type: 'remote-candidate', candidateType: 'srflx' },
    ].map((s) => [s.id, s]),
  );
  const s = await call.stats();
  assert.deepEqual(s, {
    iceConnectionState: 'connected',
    connectionState: 'connected',
    signalingState: 'stable',
    videoWidth: 640,
    framesDecoded: 42,
    audioPacketsReceived: 99,
    localCandidateType: 'relay',
    remoteCandidateType: 'srflx',
    joinedAt: 1,
    firstFrameAt: null,
    startedAt: call.startedAt,
    offers: 0,
    iceRestarts: 0,
  });
  // Without a transport naming it, the succeeded + nominated pair is used.
  pc.statsReport.delete('t');
  pc.statsReport.delete('p2');
  const s2 = await call.stats();
  assert.equal(s2.localCandidateType, 'host');
  assert.equal(s2.remoteCandidateType, 'host');
  call.close();
});

test('close closes the connection and ignores later messages', async () => {
  const { call, pc, sent } = makeCall();
  call.close();
  assert.equal(pc.closed, true);
  await call.handleDescription({ type: 'offer', sdp: 'v=0\r\n' });
  await settle();
  assert.deepEqual(sent, []);
});

test('sessionIdOf reads the o= line', () => {
  assert.equal(sessionIdOf('v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\n'), '4611731400430051336');
  assert.equal(sessionIdOf('v=0\r\n'), null);
});

test('a data-only call (files through the router) sends and asks for no media; its offer says so', async () => {
  const { pc } = makeCall({ dataOnly: true });
  await settle();
  assert.deepEqual(pc.log.filter((l) => l.startsWith('addTrack') || l.startsWith('addTransceiver')), [],
    'no tracks, no receive-only transceivers');
  const data = 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n';
  assert.equal(isDataOnly(data), true);
  assert.equal(isDataOnly(`${data}m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n`), false, 'media too: a call');
  assert.equal(isDataOnly('v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n'), false);
});

test('replaceTrack swaps the sending track without renegotiating', async () => {
  const { call, pc } = makeCall();
  await settle();
  const offersBefore = pc.offers;
  assert.equal(call.offers, 1, 'the first offer is counted');
  /** @type {unknown[]} */
  const replaced = [];
  for (const t of pc.transceivers) {
    t.direction = t.sending ? 'sendrecv' : 'recvonly';
    t.sender = { track: t.sending ? { kind: t.kind } : null, replaceTrack: async (/** @type {unknown} */ tr) => replaced.push([t.kind, tr]) };
  }
  const cam2 = { kind: 'video', id: 'cam2' };
  await call.replaceTrack('video', /** @type {any} */ (cam2));
  assert.deepEqual(replaced, [['video', cam2]]);
  await settle();
  assert.equal(pc.offers, offersBefore, 'no new offer');
  assert.equal(call.offers, 1);
  call.close();
});

test('ICE disconnected for a while: the impolite side restarts ICE and counts it', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  // 'b' > 'a': the side with id 'b' is impolite.
  const { call, pc } = makeCall({ myId: 'b', peerId: 'a' });
  pc.iceConnectionState = 'disconnected';
  pc.oniceconnectionstatechange();
  t.mock.timers.tick(DISCONNECTED_RESTART_MS - 1);
  assert.ok(!pc.log.includes('restartIce'), 'not before the wait');
  t.mock.timers.tick(1);
  assert.ok(pc.log.includes('restartIce'));
  assert.equal(call.iceRestarts, 1);
  // Recovering cancels further restarts.
  pc.iceConnectionState = 'connected';
  pc.oniceconnectionstatechange();
  t.mock.timers.tick(60_000);
  assert.equal(call.iceRestarts, 1);
  call.close();
});

test('ICE disconnected: the polite side waits longer, and not at all if it recovers', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const { call, pc } = makeCall({ myId: 'a', peerId: 'b' });
  pc.iceConnectionState = 'disconnected';
  pc.oniceconnectionstatechange();
  t.mock.timers.tick(DISCONNECTED_RESTART_MS);
  assert.equal(call.iceRestarts, 0, 'the impolite side goes first');
  pc.iceConnectionState = 'connected'; // its restart worked
  pc.oniceconnectionstatechange();
  t.mock.timers.tick(60_000);
  assert.equal(call.iceRestarts, 0);
  // Still down after both waits: the polite side restarts too.
  pc.iceConnectionState = 'disconnected';
  pc.oniceconnectionstatechange();
  t.mock.timers.tick(DISCONNECTED_RESTART_MS);
  t.mock.timers.tick(4000);
  assert.equal(call.iceRestarts, 1);
  call.close();
});

test('fresh ICE servers replace the old ones for later ICE restarts, and nothing else', async () => {
  const { call, pc } = makeCall();
  await settle();
  const fresh = [{ urls: ['turn:127.0.0.1:3478?transport=udp'], username: '1700000600:m1', credential: 'c' }];
  call.setIceServers(fresh);
  assert.deepEqual(pc.config.iceServers, fresh);
  assert.equal(pc.config.bundlePolicy, 'max-bundle', 'the rest of the configuration is kept');
  assert.equal(pc.log.filter((l) => l === 'restartIce').length, 0, 'no restart of its own');
  // A browser that refuses the change leaves the connection as it was.
  pc.refuseConfiguration = true;
  call.setIceServers([{ urls: ['stun:other:3478'] }]);
  assert.deepEqual(pc.config.iceServers, fresh);
  pc.refuseConfiguration = false;
  call.close();
  call.setIceServers([{ urls: ['stun:late:3478'] }]);
  assert.deepEqual(pc.config.iceServers, fresh, 'ignored once closed');
});
