// The call quality panel: per peer, figures from RTCPeerConnection.getStats sampled
// once a second while in a call (rates are differences between two samples); through
// the media router also a line per video track received, with the layer the router says
// it forwards (forwarded.js). The same figures are what `window.confab.quality()`
// returns to tests.

import { t } from '../i18n/i18n.js';
import { trackQuality } from './forwarded.js';

/** @typedef {import('../p2p/incall.js').InCall} InCall */
/** @typedef {import('./call.js').PeerCall} PeerCall */
/** @typedef {import('./forwarded.js').TrackQuality} TrackQuality */

/**
 * What the panel samples: a call, or one member's share of the SFU connection (sfu.js).
 * The same object for as long as it lasts (samples are kept per source). `layerOf`
 * (the SFU's members): what the router says it forwards on a mid; with it, the member's
 * figures list its video tracks.
 * @typedef {{peerId: string, pc: {getStats: () => Promise<RTCStatsReport | Map<string, any>>},
 *   firstFrameAt: number | null, startedAt: number,
 *   layerOf?: (mid: string) => import('../net/types.js').LayerTrack | undefined}} QualitySource
 */

/**
 * @typedef {object} Quality
 * @property {string} peerId
 * @property {number | null} setupMs from the call's start (we called, or accepted) to
 *   its first decoded remote frame
 * @property {number} bitrateInKbps all inbound RTP, over the last interval
 * @property {number} bitrateOutKbps all outbound RTP, over the last interval
 * @property {number | null} rttMs the selected candidate pair's current round-trip time
 *   (one decimal)
 * @property {number} packetsLost inbound, since the start
 * @property {number} lossPercent inbound packets lost over the last interval, in %
 * @property {number | null} fps inbound video frames per second
 * @property {number | null} width inbound video
 * @property {number | null} height inbound video
 * @property {number | null} sendWidth outbound video
 * @property {number | null} sendHeight outbound video
 * @property {string | null} candidateType local candidate type of the selected pair:
 *   host | srflx | prflx | relay
 * @property {string | null} remoteCandidateType
 * @property {string | null} relayProtocol udp | tcp | tls when relayed
 * @property {TrackQuality[]} [tracks] through the media router: each video track received
 *   from the member, with the layer the router forwards (mesh calls: absent)
 * @property {number} at performance.now() of the sample
 */

/** Sampling period. */
const INTERVAL_MS = 1000;

/**
 * Raw counters from one getStats report.
 * @param {RTCStatsReport} report
 */
function read(report) {
  /** @type {Map<string, any>} */
  const byId = new Map();
  report.forEach((/** @type {any} */ s) => byId.set(s.id, s));
  const r = {
    bytesIn: 0, bytesOut: 0, packetsIn: 0, lost: 0,
    /** @type {number | null} */ fps: null, /** @type {number | null} */ framesDecoded: null,
    /** @type {number | null} */ width: null, /** @type {number | null} */ height: null,
    /** @type {number | null} */ sendWidth: null, /** @type {number | null} */ sendHeight: null,
    /** @type {number | null} */ rtt: null, /** @type {number | null} */ remoteRtt: null,
    /** @type {string | null} */ local: null, /** @type {string | null} */ remote: null,
    /** @type {string | null} */ relayProtocol: null,
    /** @type {import('./forwarded.js').VideoIn[]} */ videos: [],
  };
  /** @type {any} */
  let pair = null;
  for (const s of byId.values()) {
    if (s.type === 'inbound-rtp') {
      r.bytesIn += s.bytesReceived ?? 0;
      r.packetsIn += s.packetsReceived ?? 0;
      r.lost += Math.max(0, s.packetsLost ?? 0);
      if ((s.kind ?? s.mediaType) === 'video') {
        r.framesDecoded = (r.framesDecoded ?? 0) + (s.framesDecoded ?? 0);
        if (typeof s.framesPerSecond === 'number') r.fps = s.framesPerSecond;
        if (typeof s.frameWidth === 'number') r.width = s.frameWidth;
        if (typeof s.frameHeight === 'number') r.height = s.frameHeight;
        r.videos.push({
          mid: typeof s.mid === 'string' ? s.mid : null,
          width: typeof s.frameWidth === 'number' ? s.frameWidth : null,
          height: typeof s.frameHeight === 'number' ? s.frameHeight : null,
          fps: typeof s.framesPerSecond === 'number' ? s.framesPerSecond : null,
          framesDecoded: s.framesDecoded ?? 0,
        });
      }
    } else if (s.type === 'outbound-rtp') {
      r.bytesOut += s.bytesSent ?? 0;
      if ((s.kind ?? s.mediaType) === 'video' && typeof s.frameWidth === 'number') {
        r.sendWidth = s.frameWidth;
        r.sendHeight = s.frameHeight ?? null;
      }
    } else if (s.type === 'remote-inbound-rtp' && typeof s.roundTripTime === 'number') {
      r.remoteRtt = s.roundTripTime;
    } else if (s.type === 'transport' && s.selectedCandidatePairId) {
      pair = byId.get(s.selectedCandidatePairId) ?? pair;
    }
  }
  if (!pair) {
    for (const s of byId.values()) {
      if (s.type === 'candidate-pair' && ((s.state === 'succeeded' && s.nominated) || s.selected)) pair = s;
    }
  }
  if (pair) {
    if (typeof pair.currentRoundTripTime === 'number') r.rtt = pair.currentRoundTripTime;
    const l = byId.get(pair.localCandidateId);
    r.local = l?.candidateType ?? null;
    r.relayProtocol = l?.candidateType === 'relay' ? (l.relayProtocol ?? null) : null;
    r.remote = byId.get(pair.remoteCandidateId)?.candidateType ?? null;
  }
  return r;
}

/** @typedef {ReturnType<typeof read> & {at: number}} Sample */

export class QualityPanel {
  /**
   * @param {InCall} incall
   * @param {{panel: HTMLElement, list: HTMLElement, empty: HTMLElement, toggle: HTMLButtonElement,
   *   close: HTMLButtonElement, template: HTMLTemplateElement}} ui
   * @param {(peerId: string) => boolean} presenting whether a member shares its screen now
   */
  constructor(incall, ui, presenting) {
    this.incall = incall;
    /** Whether a member shares its screen (its tracks are named so). */
    this.presenting = presenting;
    this.ui = ui;
    /** @type {Map<QualitySource, Sample>} */
    this.last = new Map();
    /** Sources besides the calls (the SFU's members), see `addSources`. @type {Array<() => QualitySource[]>} */
    this.extra = [];
    /** @type {Map<string, Quality>} */
    this.figures = new Map();
    /** @type {ReturnType<typeof setInterval> | null} */
    this.timer = null;
    ui.toggle.addEventListener('click', () => this.setOpen(ui.panel.hidden));
    ui.close.addEventListener('click', () => this.setOpen(false));
    incall.onChange(() => this.callsChanged());
    this.setOpen(false);
  }

  /** @param {boolean} open */
  setOpen(open) {
    this.ui.panel.hidden = !open;
    this.ui.toggle.setAttribute('aria-expanded', String(open));
    if (open) this.render();
  }

  /**
   * Samples these too (the SFU connection's members); `changed` must be called when
   * they change.
   * @param {() => QualitySource[]} sources
   */
  addSources(sources) {
    this.extra.push(sources);
  }

  /** @returns {QualitySource[]} the calls, then the other sources */
  sources() {
    return [...this.incall.calls().filter((c) => !c.dataOnly), ...this.extra.flatMap((f) => f())];
  }

  /** The calls or other sources changed. */
  callsChanged() {
    const calls = this.sources();
    if (calls.length > 0 && this.timer === null) {
      this.timer = setInterval(() => this.sample().catch(() => {}), INTERVAL_MS);
    } else if (calls.length === 0 && this.timer !== null) {
      clearInterval(this.timer);
      this.timer = null;
    }
    const live = new Set(calls);
    for (const c of [...this.last.keys()]) if (!live.has(c)) this.last.delete(c);
    const ids = new Set(calls.map((c) => c.peerId));
    for (const id of [...this.figures.keys()]) if (!ids.has(id)) this.figures.delete(id);
    this.render();
  }

  /**
   * Takes one sample of every call and updates the figures.
   * @returns {Promise<Record<string, Quality>>}
   */
  async sample() {
    await Promise.all(
      this.sources().map(async (call) => {
        const now = performance.now();
        const cur = { ...read(await call.pc.getStats()), at: now };
        const prev = this.last.get(call);
        this.last.set(call, cur);
        const dt = prev ? (cur.at - prev.at) / 1000 : 0;
        const rate = (/** @type {number} */ a, /** @type {number} */ b) => (dt > 0 ? Math.max(0, ((a - b) * 8) / dt / 1000) : 0);
        const dLost = prev ? cur.lost - prev.lost : 0;
        const dIn = prev ? cur.packetsIn - prev.packetsIn : 0;
        let fps = cur.fps;
        if (fps === null && prev && dt > 0 && cur.framesDecoded !== null && prev.framesDecoded !== null) {
          fps = (cur.framesDecoded - prev.framesDecoded) / dt;
        }
        /** @type {Quality} */
        const q = {
          peerId: call.peerId,
          setupMs: call.firstFrameAt !== null ? Math.round(call.firstFrameAt - call.startedAt) : null,
          bitrateInKbps: Math.round(prev ? rate(cur.bytesIn, prev.bytesIn) : 0),
          bitrateOutKbps: Math.round(prev ? rate(cur.bytesOut, prev.bytesOut) : 0),
          rttMs: cur.rtt !== null ? ms(cur.rtt) : cur.remoteRtt !== null ? ms(cur.remoteRtt) : null,
          packetsLost: cur.lost,
          lossPercent: dLost + dIn > 0 ? Math.round((Math.max(0, dLost) / (dLost + dIn)) * 1000) / 10 : 0,
          fps: fps !== null ? Math.round(fps) : null,
          width: cur.width,
          height: cur.height,
          sendWidth: cur.sendWidth,
          sendHeight: cur.sendHeight,
          candidateType: cur.local,
          remoteCandidateType: cur.remote,
          relayProtocol: cur.relayProtocol,
          at: now,
        };
        const layerOf = call.layerOf;
        if (layerOf) {
          q.tracks = cur.videos.flatMap((v) => v.mid === null ? [] : [trackQuality({ ...v, mid: v.mid },
            prev?.videos.find((p) => p.mid === v.mid), dt, layerOf(v.mid))]);
        }
        // Until two samples exist, keep the rates of the previous figures (none at first).
        this.figures.set(call.peerId, q);
      }),
    );
    if (!this.ui.panel.hidden) this.render();
    return this.snapshot();
  }

  /** @returns {Record<string, Quality>} */
  snapshot() {
    return Object.fromEntries([...this.figures].map(([id, q]) =>
      [id, q.tracks ? { ...q, tracks: q.tracks.map((tr) => ({ ...tr })) } : { ...q }]));
  }

  /** @private */
  render() {
    if (this.ui.panel.hidden) return;
    const calls = this.sources();
    this.ui.empty.hidden = calls.length > 0;
    /** @type {Map<string, HTMLElement>} */
    const cards = new Map();
    for (const el of this.ui.list.querySelectorAll('.quality-peer')) {
      const id = /** @type {HTMLElement} */ (el).dataset.peerId ?? '';
      if (!calls.some((c) => c.peerId === id)) el.remove();
      else cards.set(id, /** @type {HTMLElement} */ (el));
    }
    for (const call of calls) {
      let card = cards.get(call.peerId);
      if (!card) {
        const frag = /** @type {DocumentFragment} */ (this.ui.template.content.cloneNode(true));
        card = /** @type {HTMLElement} */ (frag.querySelector('.quality-peer'));
        card.dataset.peerId = call.peerId;
        this.ui.list.append(card);
      }
      const q = this.figures.get(call.peerId);
      /** @param {string} metric @param {string} text */
      const set = (metric, text) => {
        const el = card.querySelector(`[data-metric="${metric}"]`);
        if (el) el.textContent = text;
      };
      /** @type {HTMLElement} */ (card.querySelector('.quality-name')).textContent = this.incall.nameOf(call.peerId);
      const dash = '–';
      set('setup', q?.setupMs != null ? `${(q.setupMs / 1000).toFixed(2)} s` : dash);
      set('in', q ? kbps(q.bitrateInKbps) : dash);
      set('out', q ? kbps(q.bitrateOutKbps) : dash);
      set('rtt', q?.rttMs != null ? `${q.rttMs} ms` : dash);
      set('loss', q ? t('quality.lost', { percent: q.lossPercent.toFixed(1), count: String(q.packetsLost) }) : dash);
      set('fps', q?.fps != null ? `${q.fps}` : dash);
      set('res', q?.width ? `${q.width}×${q.height}` : dash);
      set('sendres', q?.sendWidth ? `${q.sendWidth}×${q.sendHeight}` : dash);
      set('path', q?.candidateType ? pathText(q) : dash);
      card.dataset.candidateType = q?.candidateType ?? '';
      card.dataset.grade = grade(q);
      const screen = this.presenting(call.peerId);
      renderTracks(/** @type {HTMLElement} */ (card.querySelector('.quality-tracks')), q?.tracks, screen);
    }
  }
}

/**
 * A member's video tracks through the router, one line each (kept by mid): what arrives
 * and the layer the router forwards, in words. Hidden without tracks (a mesh call).
 * @param {HTMLElement} list
 * @param {TrackQuality[] | undefined} tracks
 * @param {boolean} screen the member says it presents its screen
 */
function renderTracks(list, tracks, screen) {
  list.hidden = !tracks || tracks.length === 0;
  const mids = new Set((tracks ?? []).map((tr) => tr.mid));
  for (const li of [...list.children]) if (!mids.has(/** @type {HTMLElement} */ (li).dataset.mid ?? '')) li.remove();
  for (const tr of tracks ?? []) {
    let li = /** @type {HTMLElement[]} */ ([...list.children]).find((el) => el.dataset.mid === tr.mid);
    if (!li) {
      li = document.createElement('li');
      li.className = 'quality-track';
      li.dataset.mid = tr.mid;
      for (const part of ['track-name', 'track-figures', 'track-layer']) {
        const span = document.createElement('span');
        span.className = part;
        li.append(span);
      }
      list.append(li);
    }
    const dash = '–';
    const res = tr.width ? `${tr.width}×${tr.height}` : dash;
    const fps = tr.fps !== null ? `${tr.fps} fps` : `${dash} fps`;
    const [name, figures, layer] = /** @type {HTMLElement[]} */ ([...li.children]);
    name.textContent = t(screen ? 'quality.screen' : 'quality.video');
    figures.textContent = `${res} · ${fps}`;
    layer.textContent = t('quality.layer', { layer: tr.layer ? t(`quality.layer_${tr.layer}`) : dash });
    layer.title = t('quality.layer_title');
    li.dataset.layer = tr.layer ?? '';
  }
}

/** Seconds to milliseconds with one decimal (a LAN's RTT is well under 1 ms). @param {number} s */
function ms(s) {
  return Math.round(s * 10000) / 10;
}

/** @param {number} k */
function kbps(k) {
  return k >= 1000 ? `${(k / 1000).toFixed(2)} Mbit/s` : `${k} kbit/s`;
}

/** @param {Quality} q */
function pathText(q) {
  const type = q.candidateType ?? '';
  const base = ['host', 'srflx', 'prflx', 'relay'].includes(type) ? t(`quality.${type}`) : type;
  return q.relayProtocol ? t('quality.over', { path: base, protocol: q.relayProtocol.toUpperCase() }) : base;
}

/**
 * good | fair | poor, for the colored dot.
 * @param {Quality | undefined} q
 */
function grade(q) {
  if (!q || q.rttMs === null) return 'unknown';
  if (q.lossPercent > 5 || q.rttMs > 400) return 'poor';
  if (q.lossPercent > 1 || q.rttMs > 150) return 'fair';
  return 'good';
}
