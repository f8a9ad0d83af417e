// What the page tells its user: the event log (newest first, bounded) and short-lived toasts.

import { h } from './dom.js';
import { timeWithSeconds } from './format.js';
import { now } from './state.js';
import { ui } from './ui.js';

const LOG_LIMIT = 60;

export function log(text, kind = 'info') {
  const at = now();
  const entry = h('li', { class: `log-entry log-${kind}`, 'data-testid': 'log-entry', 'data-kind': kind },
    h('time', { datetime: new Date(at).toISOString() }, timeWithSeconds(at)), ' ', text);
  ui.log.prepend(entry);
  while (ui.log.children.length > LOG_LIMIT) ui.log.lastElementChild.remove();
}

export function toast(text, kind = 'info') {
  const el = h('div', { class: `toast toast-${kind}`, 'data-testid': 'toast', 'data-kind': kind, role: kind === 'error' ? 'alert' : 'status' }, text);
  ui.toasts.append(el);
  while (ui.toasts.children.length > 4) ui.toasts.firstElementChild.remove();
  setTimeout(() => {
    el.classList.add('toast-leaving');
    setTimeout(() => el.remove(), 400);
  }, kind === 'error' ? 8000 : 5000);
}

export function announce(text, kind) {
  log(text, kind);
  toast(text, kind);
}
