import assert from 'node:assert/strict';
import { test } from 'node:test';
import { networkVerdict, probeOf, serversFor } from '../js/check/network.js';

test('each ICE URL serves one probe', () => {
  assert.equal(probeOf('stun:call.test:3478'), 'stun');
  assert.equal(probeOf('turn:call.test:3478'), 'udp');
  assert.equal(probeOf('turn:call.test:3478?transport=udp'), 'udp');
  assert.equal(probeOf('turn:call.test:3478?transport=tcp'), 'tcp');
  assert.equal(probeOf('turns:call.test:5349?transport=tcp'), 'tls');
  assert.equal(probeOf('https://x'), null);
});

test('a probe gets only its URLs, with the credentials', () => {
  const servers = [
    { urls: ['stun:s:3478'] },
    { urls: ['turn:s:3478', 'turn:s:3478?transport=tcp', 'turns:s:5349'], username: 'u', credential: 'c' },
  ];
  assert.deepEqual(serversFor(servers, 'tcp'), [{ urls: ['turn:s:3478?transport=tcp'], username: 'u', credential: 'c' }]);
  assert.deepEqual(serversFor(servers, 'stun'), [{ urls: ['stun:s:3478'] }]);
  assert.deepEqual(serversFor([{ urls: 'stun:s' }], 'tls'), []);
});

test('the verdict says what a call will do', () => {
  const ok = { state: /** @type {const} */ ('ok'), address: '203.0.113.5:1' };
  const failed = { state: /** @type {const} */ ('failed') };
  const absent = { state: /** @type {const} */ ('absent') };
  assert.equal(networkVerdict({ stun: ok, udp: ok, tcp: ok, tls: ok }), 'check.verdict.good');
  assert.equal(networkVerdict({ stun: ok, udp: absent, tcp: absent, tls: absent }), 'check.verdict.no_relay');
  assert.equal(networkVerdict({ stun: failed, udp: failed, tcp: ok, tls: ok }), 'check.verdict.udp_blocked_tcp_tls');
  assert.equal(networkVerdict({ stun: failed, udp: failed, tcp: failed, tls: ok }), 'check.verdict.udp_blocked_tls');
  assert.equal(networkVerdict({ stun: failed, udp: failed, tcp: ok, tls: absent }), 'check.verdict.udp_blocked_tcp');
  assert.equal(networkVerdict({ stun: failed, udp: failed, tcp: failed, tls: failed }), 'check.verdict.blocked');
});
