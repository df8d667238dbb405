// Renaming yourself in a room: "Rename" on our own row of the people list opens a small
// dialog with the name; it is checked here as the server will (`nameError`), sent as
// `rename`, and the dialog closes when the server confirms. A join token's holder keeps
// the token's name: the button is not offered (the server refuses it too: `name_fixed`).

import { describeServerError, nameError } from '../net/protocol.js';
import { SignalingError } from '../net/signaling.js';
import { say, t } from '../i18n/i18n.js';
import { $ } from './dom.js';

/**
 * @param {{signaling: () => import('../net/signaling.js').Signaling | null,
 *   current: () => string, fixed: () => boolean}} ctx
 *   `current`: our name now; `fixed`: a join token names us
 * @returns {{render: () => void}}
 */
export function setupRename(ctx) {
  const open = $('rename-me', HTMLButtonElement);
  const dialog = $('rename', HTMLDialogElement);
  const form = $('rename-form', HTMLFormElement);
  const input = $('rename-input', HTMLInputElement);
  const error = $('rename-error', HTMLElement);
  const save = $('rename-save', HTMLButtonElement);
  /** @param {string} text */
  const show = (text) => {
    error.textContent = text;
    error.hidden = text === '';
    input.setAttribute('aria-invalid', String(text !== ''));
  };
  open.addEventListener('click', () => {
    input.value = ctx.current();
    show('');
    dialog.showModal();
    input.select();
  });
  $('rename-cancel', HTMLButtonElement).addEventListener('click', () => dialog.close());
  input.addEventListener('input', () => show(''));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const problem = nameError(input.value);
    if (problem) return show(say(problem));
    const sig = ctx.signaling();
    if (!sig) return show(t('chat.send.closed'));
    save.disabled = true;
    try {
      await sig.rename(input.value);
      dialog.close();
    } catch (err) {
      show(err instanceof SignalingError && err.code !== 'timeout' && err.code !== 'closed'
        ? say(describeServerError({ code: err.code, message: err.message }))
        : t('rename.failed'));
    } finally {
      save.disabled = false;
    }
  });
  return {
    render: () => {
      open.hidden = ctx.fixed();
    },
  };
}
