// The user's WebSocket (docs/design.md §4) with reconnection.
//
// States: "connecting" (first attempt or a reconnect in flight), "syncing" (open, waiting for the
// snapshot), "connected" (snapshot received: the page shows the server's truth), "waiting"
// (closed; the next attempt is scheduled with exponential backoff and jitter), "closed" (stopped).
// The backoff resets only once a connection delivered a message, so a server that accepts and
// drops at once is not hammered.

import { currentToken } from './token.js';

export class LiveConnection extends EventTarget {
  constructor(url, { minDelayMs = 300, maxDelayMs = 5000 } = {}) {
    super();
    this.url = url;
    this.minDelayMs = minDelayMs;
    this.maxDelayMs = maxDelayMs;
    this.socket = null;
    this.attempt = 0;
    this.timer = null;
    this.state = 'closed';
    this.retryAt = 0;
    this.stopped = true;
    this.onOnline = () => this.reconnectNow();
  }

  start() {
    this.stopped = false;
    window.addEventListener('online', this.onOnline);
    this.open();
  }

  stop() {
    this.stopped = true;
    window.removeEventListener('online', this.onOnline);
    clearTimeout(this.timer);
    this.timer = null;
    const socket = this.socket;
    this.socket = null;
    if (socket) {
      socket.onopen = socket.onclose = socket.onerror = socket.onmessage = null;
      socket.close(1000, 'bye');
    }
    this.setState('closed');
  }

  /** Skips the wait of a scheduled reconnect (the "Reconnect now" button, the online event). */
  reconnectNow() {
    if (this.stopped || this.state !== 'waiting') return;
    clearTimeout(this.timer);
    this.timer = null;
    this.open();
  }

  get isOpen() {
    return this.socket?.readyState === WebSocket.OPEN;
  }

  /** Sends a message; false when there is no open socket (the caller decides what to do). */
  send(message) {
    if (!this.isOpen) return false;
    this.socket.send(JSON.stringify(message));
    return true;
  }

  /** The server's snapshot arrived: the page is in step again. */
  markSynced() {
    this.attempt = 0;
    this.setState('connected');
  }

  open() {
    this.setState('connecting');
    let socket;
    try {
      socket = new WebSocket(this.url);
    } catch (err) {
      this.scheduleRetry();
      return;
    }
    this.socket = socket;
    socket.onopen = () => this.setState('syncing');
    socket.onmessage = (event) => {
      let message;
      try {
        message = JSON.parse(event.data);
      } catch {
        this.emit('protocol-error', { data: String(event.data).slice(0, 200) });
        return;
      }
      this.emit('message', message);
    };
    socket.onerror = () => {
      // A close event always follows; reconnection is handled there.
    };
    socket.onclose = (event) => {
      if (this.socket !== socket) return;
      this.socket = null;
      this.emit('closed', { code: event.code, reason: event.reason });
      if (!this.stopped) this.scheduleRetry();
    };
  }

  scheduleRetry() {
    const base = Math.min(this.maxDelayMs, this.minDelayMs * 2 ** this.attempt);
    const delay = Math.round(base * (0.5 + Math.random() * 0.5));
    this.attempt += 1;
    this.retryAt = Date.now() + delay;
    this.setState('waiting');
    this.timer = setTimeout(() => {
      this.timer = null;
      if (!this.stopped) this.open();
    }, delay);
  }

  setState(state) {
    this.state = state;
    this.emit('state', { state, attempt: this.attempt, retryAt: this.retryAt });
  }

  emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }
}

export function liveUrl(userId) {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  // Browsers set no headers on a WebSocket, so the token (if any) goes in the query.
  const token = currentToken();
  const auth = token ? `&token=${encodeURIComponent(token)}` : '';
  return `${scheme}//${location.host}/ws?user=${encodeURIComponent(userId)}${auth}`;
}
