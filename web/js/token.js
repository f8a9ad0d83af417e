// The bearer token the page sends when the api runs with --auth token (README "Auth"): a user's
// own token, or the admin's. Kept in this browser's localStorage; with --auth none the field stays
// empty and nothing is sent.

import { ui } from './ui.js';

const KEY = 'streamgate-token';

export function currentToken() {
  try {
    return localStorage.getItem(KEY) || '';
  } catch {
    return '';
  }
}

function saveToken(token) {
  try {
    if (token) localStorage.setItem(KEY, token);
    else localStorage.removeItem(KEY);
  } catch {
    // Storage refused (private mode): the token then lasts as long as the field's value.
  }
}

/** The token field: shows the stored token; a new one is stored, then onChange() runs. */
export function wireToken(onChange) {
  ui.token.value = currentToken();
  // Enter commits the field (a change event) and must not load the page again.
  ui.token.form.addEventListener('submit', (event) => event.preventDefault());
  ui.token.addEventListener('change', () => {
    saveToken(ui.token.value.trim());
    onChange();
  });
}
