// The connection badge in the header: the WebSocket's state in words, and Reconnect now while the
// page waits to retry.

import { setText } from './dom.js';
import { now, render, state } from './state.js';
import { ui } from './ui.js';

let connectionDetail = {};

export function setConnection(connection, detail = {}) {
  state.connection = connection;
  connectionDetail = detail;
  renderConnection();
  render();
}

export function renderConnection() {
  const c = state.connection;
  // data-state is stable for tests: idle | connecting | connected | disconnected | unauthorized.
  const stable = { idle: 'idle', closed: 'idle', connecting: 'connecting', syncing: 'connecting', connected: 'connected', waiting: 'disconnected' }[c] ?? c;
  ui.connection.dataset.state = stable;
  let text;
  if (c === 'idle' || c === 'closed') text = 'No user chosen';
  else if (c === 'connected') text = 'Live';
  else if (c === 'syncing') text = 'Syncing…';
  else if (c === 'unauthorized') text = connectionDetail.hadToken ? 'Token refused' : 'Token needed';
  else if (c === 'connecting') text = connectionDetail.attempt > 0 ? `Reconnecting (attempt ${connectionDetail.attempt})…` : 'Connecting…';
  else {
    const seconds = Math.max(0, Math.ceil(((connectionDetail.retryAt ?? 0) - now()) / 1000));
    text = `Offline · retrying in ${seconds} s`;
  }
  setText(ui.connectionText, text);
  ui.connection.setAttribute('aria-label', `Connection: ${text}`);
  ui.reconnect.hidden = c !== 'waiting';
}

/** The Reconnect now button. */
export function wireReconnect() {
  ui.reconnect.addEventListener('click', () => state.live?.reconnectNow());
}
