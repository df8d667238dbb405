// What the browser tests read inside `page.evaluate` callbacks, which run in the page, not
// in Node: the web client's read-only test handle (docs/web-test-contract.md, built by
// web/js/ui/debug.js) and the marker of ice.js's init script. Types only, for
// `tsc -p tsconfig.node.json`; the shapes themselves are JSDoc typedefs in browser.js and
// ice.js. tsconfig.json (the client alone) does not see this file.

interface Window {
  /** Set by the web client once it has started (web/js/ui/debug.js). */
  readonly confab: import('./browser.js').ConfabHandle;
  /** Set by ice.js `iceInitScript`. */
  __e2eIce?: import('./ice.js').IceMarker;
}
