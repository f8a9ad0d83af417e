// What the page shows when the api runs with --auth token (README "Auth") and refuses this
// browser's token for the chosen user: why, and where a token goes, instead of retrying as if the
// server were down. A new token in the field enters the user again (routing.js, reenterPage).

import { setConnection } from './connection.js';
import { currentToken } from './token.js';
import { ui } from './ui.js';

/** 401 (no token, or one not valid: replaced, say) or 403 (another user's): a token fixes it. */
export const isAccessRefusal = (err) => err?.status === 401 || err?.status === 403;

/** Only the notice is shown: the picker's search needs the admin's token too. */
export function showAccessRefused(userId, status) {
  ui.picker.hidden = true;
  ui.account.hidden = true;
  ui.workspace.hidden = true;
  document.title = 'streamgate: token refused';
  let text;
  if (status === 403) {
    text = `This API token is another user's: paste the token of "${userId}", or the admin's, into the API token field above.`;
  } else if (currentToken()) {
    text = `The server refused the API token for "${userId}" (it may have been replaced): paste a current one into the API token field above.`;
  } else {
    text = `User "${userId}" needs an API token: paste the user's token, or the admin's, into the API token field above.`;
  }
  ui.accessNotice.textContent = text;
  ui.accessNotice.dataset.status = String(status);
  ui.accessNotice.hidden = false;
  setConnection('unauthorized', { hadToken: !!currentToken() });
  ui.token.focus({ preventScroll: true });
}

export function hideAccessRefused() {
  ui.accessNotice.hidden = true;
}
