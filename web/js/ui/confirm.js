// Asks before an action that cannot be taken back (a host removing someone): a modal
// dialog with the action's own words on its button, Cancel focused first, so Enter or
// Escape never does the harm by accident.

import { t } from '../i18n/i18n.js';

/**
 * Shows the #confirm dialog and resolves with whether the person chose the action.
 * @param {{title: string, detail: string, action: string}} words
 * @returns {Promise<boolean>}
 */
export function confirmAction({ title, detail, action }) {
  const dialog = /** @type {HTMLDialogElement} */ (document.getElementById('confirm'));
  const text = (/** @type {string} */ id) => /** @type {HTMLElement} */ (document.getElementById(id));
  if (dialog.open) dialog.close('cancel');
  text('confirm-title').textContent = title;
  text('confirm-detail').textContent = detail;
  text('confirm-ok').textContent = action;
  text('confirm-cancel').textContent = t('confirm.cancel');
  dialog.returnValue = '';
  dialog.showModal();
  text('confirm-cancel').focus();
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => resolve(dialog.returnValue === 'ok'), { once: true });
  });
}
