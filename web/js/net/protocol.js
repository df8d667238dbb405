// confab signaling protocol, version 1: message constructors and validators for what the
// server sends. `Signaling`, the client over a WebSocket, is in signaling.js.
//
// This module never touches the DOM, so node's test runner can load it and drive
// `Signaling` with a fake socket (see web/test/). The Rust crate `crates/proto` owns the
// protocol; the rules below mirror it and the JSON fixtures in fixtures/protocol/ keep
// both sides honest.
//
// The module is split by concept: types.js (constants and message types), rules.js
// (names, rooms, chat texts), messages.js (builders), parse.js (server messages) and
// describe.js (errors in words). Import from here.

export * from './types.js';
export * from './rules.js';
export * from './messages.js';
export * from './parse.js';
export * from './describe.js';
