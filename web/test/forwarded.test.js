// The layers the media router forwards us (web/js/media/forwarded.js) and the quality
// panel's lines per track (web/js/media/quality.js): the server's `layers` report in
// words, replaced whole by the next one and ignored for another call; each received
// video track's figures joined with it by mid; mesh calls without track lines.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ForwardedLayers, layerName, trackQuality } from '../js/media/forwarded.js';
import { QualityPanel } from '../js/media/quality.js';
import { InCall } from '../js/p2p/incall.js';

/** @param {number | undefined} layer @param {number} layers */
const track = (layer, layers, mid = '3') => ({ mid, from: 'ada', layer, layers });

test('a forwarded layer in words: its place among the layers the publisher sends', () => {
  assert.equal(layerName(track(2, 3)), 'high');
  assert.equal(layerName(track(1, 3)), 'medium');
  assert.equal(layerName(track(0, 3)), 'low');
  assert.equal(layerName(track(1, 2)), 'high');
  assert.equal(layerName(track(0, 2)), 'low');
  assert.equal(layerName(track(0, 1)), 'single', 'one stream: no choice of layers');
  assert.equal(layerName(track(undefined, 3)), 'paused');
  assert.equal(layerName(undefined), null, 'nothing said yet');
});

test('each report replaces the last; one for another call is ignored', () => {
  const f = new ForwardedLayers();
  const msg = (/** @type {number} */ call, /** @type {any[]} */ tracks) =>
    /** @type {import('../js/net/types.js').LayersMsg} */ ({ type: 'layers', call, tracks });
  assert.ok(f.handle(msg(8, [track(2, 3, '3'), track(0, 1, '5')]), 8));
  assert.equal(layerName(f.get('3')), 'high');
  assert.equal(layerName(f.get('5')), 'single');
  // The next report has only mid 3, paused: mid 5 is gone.
  assert.ok(f.handle(msg(8, [track(undefined, 3, '3')]), 8));
  assert.equal(layerName(f.get('3')), 'paused');
  assert.equal(f.get('5'), undefined);
  // A late report of a call we left, or outside any call: ignored.
  assert.equal(f.handle(msg(7, [track(0, 3, '3')]), 8), false);
  assert.equal(f.handle(msg(8, [track(0, 3, '3')]), null), false);
  assert.equal(layerName(f.get('3')), 'paused');
  f.clear();
  assert.equal(f.get('3'), undefined);
});

test('a track line: what arrives, with the layer the router says it sends', () => {
  const now = { mid: '3', width: 320, height: 240, fps: null, framesDecoded: 130 };
  const prev = { mid: '3', width: 640, height: 480, fps: null, framesDecoded: 100 };
  assert.deepEqual(trackQuality(now, prev, 2, { ...track(0, 2), rid: 'm' }), {
    mid: '3', width: 320, height: 240, fps: 15, layer: 'low', index: 0, layers: 2, rid: 'm',
  });
  // The decoder's own rate wins; nothing said yet: no layer.
  assert.deepEqual(trackQuality({ ...now, fps: 29.6 }, undefined, 0, undefined), {
    mid: '3', width: 320, height: 240, fps: 30, layer: null, index: null, layers: null, rid: null,
  });
});

/** A panel with no page behind it (closed: it samples, never renders). */
function panel() {
  const el = () => /** @type {any} */ ({ hidden: true, addEventListener() {}, setAttribute() {} });
  const ui = /** @type {any} */ ({ panel: el(), list: el(), empty: el(), toggle: el(), close: el(), template: el() });
  return new QualityPanel(new InCall({ nameOf: (id) => id }), ui, () => false);
}

/** getStats of one member: an inbound video stream on `mid` (and one without a mid). */
function stats(/** @type {number} */ frames) {
  return async () => new Map([
    ['in-v', { id: 'in-v', type: 'inbound-rtp', kind: 'video', mid: '3', frameWidth: 640, frameHeight: 480,
      framesPerSecond: 24, framesDecoded: frames, bytesReceived: 1000, packetsReceived: 10 }],
    ['in-a', { id: 'in-a', type: 'inbound-rtp', kind: 'audio', mid: '4', bytesReceived: 100, packetsReceived: 5 }],
  ]);
}

test('the panel lists a router member\'s video tracks with their layer; a mesh call none', async () => {
  const p = panel();
  const f = new ForwardedLayers();
  f.handle({ type: 'layers', call: 1, tracks: [{ mid: '3', from: 'ada', layer: 1, layers: 2, rid: 'h' }] }, 1);
  p.addSources(() => [
    { peerId: 'ada', pc: { getStats: stats(50) }, firstFrameAt: null, startedAt: 0, layerOf: (mid) => f.get(mid) },
    { peerId: 'bob', pc: { getStats: stats(50) }, firstFrameAt: null, startedAt: 0 },
  ]);
  const q = await p.sample();
  assert.deepEqual(q.ada.tracks, [
    { mid: '3', width: 640, height: 480, fps: 24, layer: 'high', index: 1, layers: 2, rid: 'h' },
  ]);
  assert.equal(q.bob.tracks, undefined, 'a mesh call is as it was');
  // The router steps down: the next sample says so.
  f.handle({ type: 'layers', call: 1, tracks: [{ mid: '3', from: 'ada', layer: 0, layers: 2, rid: 'm' }] }, 1);
  const again = await p.sample();
  assert.equal(again.ada.tracks?.[0].layer, 'low');
});
