// Routing: #user=ID selects a user; no hash shows the picker. Entering a user loads it, restores
// this tab's players and opens the user's WebSocket; leaving one drops everything of it. A token
// the server refuses leaves the user too, and shows why (access.js).

import { hideAccessRefused, isAccessRefusal, showAccessRefused } from './access.js';
import { api } from './api.js';
import { loadPlans, loadVideos } from './catalog.js';
import { setConnection } from './connection.js';
import { onMessage } from './events.js';
import { ID_PATTERN } from './format.js';
import { LiveConnection, liveUrl } from './live.js';
import { log, toast } from './log.js';
import { searchUsers } from './picker.js';
import { newPlayer } from './players.js';
import { loadSessions } from './sessions.js';
import { now, render, state } from './state.js';
import { ui } from './ui.js';

function userFromHash() {
  const params = new URLSearchParams(location.hash.replace(/^#/, ''));
  const id = params.get('user');
  return id && ID_PATTERN.test(id) ? id : null;
}

export async function routePage() {
  const id = userFromHash();
  if (id && state.user?.id === id) return;
  await reenterPage();
}

/** Shows what the address names afresh: after a new token, even the same user. */
export async function reenterPage() {
  const id = userFromHash();
  leaveUser();
  if (id) await enterUser(id);
  else showPicker();
}

function leaveUser() {
  hideAccessRefused();
  state.generation += 1;
  state.live?.stop();
  state.live = null;
  state.user = null;
  state.limit = null;
  state.streams.clear();
  state.players.clear();
  state.ownSessions.clear();
  state.stopping.clear();
  state.synced = false;
  state.everSynced = false;
  setConnection('idle');
  ui.log.replaceChildren();
  render();
}

function showPicker() {
  ui.account.hidden = true;
  ui.workspace.hidden = true;
  ui.picker.hidden = false;
  document.title = 'streamgate: who is watching?';
  searchUsers(ui.search.value);
}

async function enterUser(id, attempt = 0) {
  const generation = state.generation;
  let user;
  try {
    user = await api.getUser(id);
  } catch (err) {
    if (generation !== state.generation) return;
    if (isAccessRefusal(err)) {
      showAccessRefused(id, err.status);
      return;
    }
    if (err.status === 404 || err.status === 400) {
      toast(`There is no user "${id}".`, 'error');
      history.replaceState(null, '', location.pathname + location.search);
      showPicker();
      return;
    }
    // The server is unreachable or busy: keep the address and try again, like the WebSocket.
    const delay = Math.min(5000, 300 * 2 ** attempt);
    setConnection('waiting', { attempt: attempt + 1, retryAt: now() + delay });
    if (attempt === 0) log(`Could not load user "${id}" (${err.message}); retrying…`, 'warn');
    setTimeout(() => {
      if (generation === state.generation) enterUser(id, attempt + 1);
    }, delay);
    return;
  }
  if (generation !== state.generation) return;
  state.user = user;
  state.limit = Number.isInteger(user.maxStreams) ? user.maxStreams : null;
  for (const { sessionId, videoId } of loadSessions(user.id)) {
    state.ownSessions.add(sessionId);
    // Restored players are confirmed (or dropped) by the first snapshot.
    state.players.set(sessionId, newPlayer(videoId, sessionId, 'restoring'));
  }
  ui.picker.hidden = true;
  ui.account.hidden = false;
  ui.workspace.hidden = false;
  document.title = `streamgate: ${user.name}`;
  log(`Watching as ${user.name} (${user.id}).`);
  render();
  // The picker that had the focus is hidden now: put keyboard and screen reader users on the account.
  if (document.activeElement === document.body || ui.picker.contains(document.activeElement)) {
    ui.userName.focus({ preventScroll: true });
  }
  loadVideos();
  if (user.plan) loadPlans();

  const live = new LiveConnection(liveUrl(user.id));
  state.live = live;
  live.addEventListener('state', (e) => {
    if (state.live !== live) return;
    if (e.detail.state !== 'connected') state.synced = false;
    setConnection(e.detail.state, e.detail);
  });
  live.addEventListener('message', (e) => {
    if (state.live === live) onMessage(e.detail);
  });
  let outage = false; // one log line per outage, not one per failed attempt
  live.addEventListener('closed', () => {
    if (state.live !== live) return;
    checkAccess(user.id, live);
    if (outage) return;
    outage = true;
    log(state.everSynced ? 'Connection lost; reconnecting…' : 'Cannot reach the server; retrying…', 'warn');
  });
  live.addEventListener('state', (e) => {
    if (e.detail.state === 'connected') outage = false;
  });
  live.addEventListener('protocol-error', (e) => log(`Unreadable message from the server: ${e.detail.data}`, 'error'));
  live.start();
}

/**
 * A refused WebSocket upgrade (the token replaced, the user's sockets closed by the api) looks like
 * any other close to a page: REST says whether the token is the cause. If so the page leaves the
 * user, whose streams it can no longer confirm, and says why; its players come back with a token.
 */
async function checkAccess(userId, live) {
  try {
    await api.getUser(userId);
  } catch (err) {
    if (state.live !== live || !isAccessRefusal(err)) return;
    leaveUser();
    showAccessRefused(userId, err.status);
  }
}
