// The keyboard's way around the room: Escape closes what is open, the innermost first
// (a menu, then a floating panel, then the chat, then the people list), and a menu's
// items are walked with the arrow keys, Home and End, as the ARIA menu pattern says.
// Menus that close themselves on Escape mark the key as used (preventDefault), so one
// press closes one thing.

/**
 * Panels Escape closes, innermost first: the panel, the button that closes it, and
 * where the focus goes back to (what opened it; the menu's button for those opened
 * from the menu).
 */
const PANELS = [
  ['devices', 'devices-close', 'more-toggle'],
  ['quality', 'quality-close', 'more-toggle'],
  ['recordings', 'recordings-close', 'more-toggle'],
  ['chat', 'chat-close', 'chat-toggle'],
  ['people', 'people-close', 'people-toggle'],
];

/**
 * Wires Escape for the room's panels. On the window, so it hears the key after the
 * menus' own handlers on the document have had it.
 */
export function closePanelsOnEscape() {
  window.addEventListener('keydown', (ev) => {
    if (ev.key !== 'Escape' || ev.defaultPrevented || document.querySelector('dialog[open]')) return;
    for (const [panelId, closeId, backId] of PANELS) {
      const panel = document.getElementById(panelId);
      const close = document.getElementById(closeId);
      if (!panel || !close || !panel.checkVisibility() || !close.checkVisibility()) continue;
      ev.preventDefault();
      const back = panel.contains(document.activeElement);
      close.click();
      // Focus goes back to what opened the panel, not to the page's top.
      if (back) document.getElementById(backId)?.focus();
      return;
    }
  });
}

/**
 * The menu's items a person can use now: enabled and shown.
 * @param {HTMLElement} menu
 * @returns {HTMLElement[]}
 */
export function menuItems(menu) {
  return /** @type {HTMLElement[]} */ ([...menu.querySelectorAll('[role="menuitem"]')])
    .filter((b) => !(/** @type {HTMLButtonElement} */ (b).disabled) && b.checkVisibility());
}

/**
 * Arrow keys, Home and End move the focus between a menu's enabled, shown items; Tab
 * leaves the menu (and closes it, through `close`).
 * @param {HTMLElement} menu
 * @param {() => void} close
 */
export function menuKeys(menu, close) {
  menu.addEventListener('keydown', (ev) => {
    const items = menuItems(menu);
    if (items.length === 0) return;
    const at = items.indexOf(/** @type {HTMLElement} */ (document.activeElement));
    const go = (/** @type {number} */ i) => {
      ev.preventDefault();
      items[(i + items.length) % items.length].focus();
    };
    if (ev.key === 'ArrowDown') go(at + 1);
    else if (ev.key === 'ArrowUp') go(at < 0 ? items.length - 1 : at - 1);
    else if (ev.key === 'Home') go(0);
    else if (ev.key === 'End') go(items.length - 1);
    else if (ev.key === 'Tab') close();
  });
}
