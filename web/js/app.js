// streamgate demo page: choose a user, play videos, and watch the concurrent-stream limit work.
//
// Truth lives on the server. The page keeps a copy of the user's live streams that it rebuilds
// from every WebSocket "snapshot" (on connect and after each reconnect) and updates from
// "verdict" / "ended" / "heartbeat" events in between. Verdicts reach every tab of the user, so
// this tab recognises its own by the sessionId (one per player) and requestId (one per attempt)
// that it chose; everything else is "another device or tab".

import { api } from './api.js';
import { LiveConnection, liveUrl } from './live.js';
import { h, reconcile, setText } from './dom.js';
import { poster } from './poster.js';
import { MediaPlayer, REFUSED_TEXT } from './player.js';
import { clock, humanDuration, ID_PATTERN, randomId, timeOf, timeOfDay, timeWithSeconds } from './format.js';

const DEFAULT_LEASE_MS = 90_000;
// A third of the api's default playback token life (60 s; docs/design.md, "Playback enforcement"),
// so a token is always renewed well before the video's next request needs it.
const MAX_HEARTBEAT_MS = 20_000;
const MIN_HEARTBEAT_MS = 1_000;
const HEARTBEAT_RETRY_MS = 5_000; // after a heartbeat that could not be sent
const PENDING_RESEND_MS = 5_000; // a start without verdict is sent again with the same requestId
const LOG_LIMIT = 60;

const ENDED_TEXT = {
  stopped: 'was stopped',
  expired: 'expired: its lease ran out without a heartbeat',
  evicted: 'was evicted: a newer stream took its slot',
  stop_all: 'ended: all streams of the account were stopped',
  gone: 'ended (the server no longer has it)',
};
const ENDED_TEXT_MANY = {
  stopped: 'were stopped',
  expired: 'expired: their leases ran out without a heartbeat',
  evicted: 'were evicted: newer streams took their slots',
  stop_all: 'ended: all streams of the account were stopped',
  gone: 'ended (the server no longer has them)',
};
const ENDED_SHORT = {
  stopped: 'Stopped from another device or tab',
  expired: 'Lease expired (no heartbeat reached the server in time)',
  evicted: 'Evicted: a newer stream took this slot',
  stop_all: 'All streams of the account were stopped',
  gone: 'Ended (the server no longer has this stream)',
};
const DENIED_TEXT = {
  limit_reached: 'the limit of streams at once is reached',
  unknown_video: 'this video is not in the catalog',
};

const byTestId = (id, root = document) => root.querySelector(`[data-testid="${id}"]`);

const ui = {
  connection: byTestId('connection'),
  connectionText: byTestId('connection-text'),
  reconnect: byTestId('reconnect'),
  picker: byTestId('user-picker'),
  searchForm: byTestId('user-search-form'),
  search: byTestId('user-search'),
  searchStatus: byTestId('user-search-status'),
  results: byTestId('user-results'),
  createForm: byTestId('create-user-form'),
  createName: byTestId('create-user-name'),
  createMax: byTestId('create-user-max'),
  createId: byTestId('create-user-id'),
  createError: byTestId('create-user-error'),
  createSubmit: byTestId('create-user-submit'),
  account: byTestId('account'),
  avatar: byTestId('account-avatar'),
  userName: byTestId('current-user'),
  userId: byTestId('current-user-id'),
  usage: byTestId('usage'),
  meter: byTestId('meter'),
  stopAll: byTestId('stop-all'),
  switchUser: byTestId('switch-user'),
  workspace: byTestId('workspace'),
  players: byTestId('players'),
  playersEmpty: byTestId('players-empty'),
  playersTitle: document.getElementById('players-title'),
  catalog: byTestId('catalog'),
  catalogStatus: byTestId('catalog-status'),
  streams: byTestId('streams'),
  streamsEmpty: byTestId('streams-empty'),
  streamsTitle: document.getElementById('streams-title'),
  log: byTestId('log'),
  toasts: byTestId('toasts'),
};

const state = {
  videos: new Map(), // id -> video
  videosLoading: null,
  plans: new Map(), // id -> plan {id, maxStreams, policy}, fetched once a user with a plan is shown
  plansLoading: null,
  user: null, // the chosen user, as GET /users/{id} returned it
  limit: null,
  streams: new Map(), // streamId -> stream: every live stream of the user, on any device
  players: new Map(), // sessionId -> player: this tab's players, in creation order
  media: new Map(), // sessionId -> MediaPlayer: the video of each playing player (web/js/player.js)
  ownSessions: new Set(), // every sessionId this tab created for the user (survives a reload)
  stopping: new Set(), // streamIds this tab asked to stop and not yet seen end
  stopAllInFlight: false,
  live: null,
  connection: 'idle',
  synced: false,
  everSynced: false, // a snapshot arrived before: the next one follows a reconnect
  serverSkewMs: 0, // server clock minus this clock, estimated from fresh verdicts
  generation: 0, // bumps on each user switch, so late answers for the previous user are dropped
};

// ---------------------------------------------------------------------------------------------
// Helpers

const now = () => Date.now();
const serverNow = () => now() + state.serverSkewMs;
const titleOf = (videoId) => state.videos.get(videoId)?.title ?? videoId;
const videoOf = (videoId) => state.videos.get(videoId) ?? { id: videoId, title: videoId };
const isOwn = (stream) => state.ownSessions.has(stream.sessionId);
const whereOf = (stream) => (isOwn(stream) ? 'on this tab' : 'on another device or tab');

function playerOfStream(streamId) {
  for (const p of state.players.values()) if (p.streamId === streamId) return p;
  return null;
}

function streamOfSession(sessionId) {
  for (const s of state.streams.values()) if (s.sessionId === sessionId) return s;
  return null;
}

function sortedStreams() {
  return [...state.streams.values()].sort(
    (a, b) => (timeOf(a.startedAt) || 0) - (timeOf(b.startedAt) || 0) || a.streamId.localeCompare(b.streamId));
}

function heartbeatEvery(player) {
  const lease = Math.min(player.leaseMs || DEFAULT_LEASE_MS, player.tokenMs || Infinity);
  return Math.max(MIN_HEARTBEAT_MS, Math.min(MAX_HEARTBEAT_MS, Math.floor(lease / 3)));
}

function storageKey(userId) {
  return `streamgate.sessions.${userId}`;
}

/** This tab's sessions survive a reload (sessionStorage is per tab), so its streams stay "this tab". */
function saveSessions() {
  if (!state.user) return;
  const keep = [...state.players.values()]
    .filter((p) => p.state === 'pending' || p.state === 'playing' || p.state === 'stopping')
    .map((p) => ({ sessionId: p.sessionId, videoId: p.videoId }));
  try {
    sessionStorage.setItem(storageKey(state.user.id), JSON.stringify(keep));
  } catch {
    // Private mode or quota: ownership is then only known until a reload.
  }
}

function loadSessions(userId) {
  try {
    const list = JSON.parse(sessionStorage.getItem(storageKey(userId)) || '[]');
    return Array.isArray(list) ? list.filter((x) => x && ID_PATTERN.test(x.sessionId)) : [];
  } catch {
    return [];
  }
}

function log(text, kind = 'info') {
  const at = now();
  const entry = h('li', { class: `log-entry log-${kind}`, 'data-testid': 'log-entry', 'data-kind': kind },
    h('time', { datetime: new Date(at).toISOString() }, timeWithSeconds(at)), ' ', text);
  ui.log.prepend(entry);
  while (ui.log.children.length > LOG_LIMIT) ui.log.lastElementChild.remove();
}

function toast(text, kind = 'info') {
  const el = h('div', { class: `toast toast-${kind}`, 'data-testid': 'toast', 'data-kind': kind, role: kind === 'error' ? 'alert' : 'status' }, text);
  ui.toasts.append(el);
  while (ui.toasts.children.length > 4) ui.toasts.firstElementChild.remove();
  setTimeout(() => {
    el.classList.add('toast-leaving');
    setTimeout(() => el.remove(), 400);
  }, kind === 'error' ? 8000 : 5000);
}

function announce(text, kind) {
  log(text, kind);
  toast(text, kind);
}

// ---------------------------------------------------------------------------------------------
// Routing: #user=ID selects a user; no hash shows the picker.

function userFromHash() {
  const params = new URLSearchParams(location.hash.replace(/^#/, ''));
  const id = params.get('user');
  return id && ID_PATTERN.test(id) ? id : null;
}

async function route() {
  const id = userFromHash();
  if (id && state.user?.id === id) return;
  leaveUser();
  if (id) await enterUser(id);
  else showPicker();
}

function leaveUser() {
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
    if (state.live !== live || outage) return;
    outage = true;
    log(state.everSynced ? 'Connection lost; reconnecting…' : 'Cannot reach the server; retrying…', 'warn');
  });
  live.addEventListener('state', (e) => {
    if (e.detail.state === 'connected') outage = false;
  });
  live.addEventListener('protocol-error', (e) => log(`Unreadable message from the server: ${e.detail.data}`, 'error'));
  live.start();
}

// ---------------------------------------------------------------------------------------------
// Users: search and create

let searchSeq = 0;
let searchTimer = null;

async function searchUsers(text) {
  const seq = (searchSeq += 1);
  setText(ui.searchStatus, 'Searching…');
  try {
    const { users, more } = await api.findUsers(text.trim(), 30);
    if (seq !== searchSeq) return;
    reconcile(ui.results, users, (u) => u.id, (u) => {
      const li = h('li');
      li.append(h('button', {
        type: 'button', class: 'user-result', 'data-testid': 'user-result', 'data-user-id': u.id,
        onclick: () => { location.hash = `user=${encodeURIComponent(u.id)}`; },
      }));
      return li;
    }, (li, u) => {
      const button = li.firstElementChild;
      const limitText = `${u.plan ? `plan ${u.plan}, ` : ''}up to ${u.maxStreams} at once`;
      const active = Number(u.activeStreams) || 0;
      button.setAttribute('aria-label', `Watch as ${u.name} (${u.id}), ${limitText}, ${active} playing`);
      button.replaceChildren(
        avatar(u),
        h('span', { class: 'user-result-text' },
          h('span', { class: 'user-result-name' }, u.name),
          h('span', { class: 'user-result-meta' }, `${u.id} · ${limitText}${active ? ` · ${active} playing` : ''}`)),
      );
    });
    setText(ui.searchStatus, users.length === 0
      ? (text.trim() ? `No user matches "${text.trim()}". Create one →` : 'No users yet. Create one →')
      : more
        ? `The first ${users.length} users; more match: type more of the name`
        : `${users.length} user${users.length === 1 ? '' : 's'}`);
  } catch (err) {
    if (seq !== searchSeq) return;
    setText(ui.searchStatus, `Search failed: ${err.message}`);
  }
}

function avatarLook(user) {
  const hue = [...String(user.id)].reduce((acc, c) => (acc * 31 + c.codePointAt(0)) % 360, 7);
  const letter = [...String(user.name || user.id).trim()][0]?.toUpperCase() ?? '?';
  return { hue, letter };
}

function avatar(user) {
  const { hue, letter } = avatarLook(user);
  return h('span', { class: 'avatar', 'aria-hidden': 'true', style: `--hue:${hue}` }, letter);
}

ui.search.addEventListener('input', () => {
  clearTimeout(searchTimer);
  searchTimer = setTimeout(() => searchUsers(ui.search.value), 200);
});
ui.searchForm.addEventListener('submit', (e) => {
  e.preventDefault();
  clearTimeout(searchTimer);
  searchUsers(ui.search.value);
});

ui.createForm.addEventListener('submit', async (e) => {
  e.preventDefault();
  ui.createError.hidden = true;
  const name = ui.createName.value.trim();
  const id = ui.createId.value.trim();
  const max = ui.createMax.value.trim();
  const fail = (text, field) => {
    ui.createError.textContent = text;
    ui.createError.hidden = false;
    field?.focus();
  };
  if (!name) return fail('Give the user a name.', ui.createName);
  if (id && !ID_PATTERN.test(id)) return fail('The id may only hold letters, digits, _ and - (at most 64).', ui.createId);
  let maxStreams;
  if (max) {
    maxStreams = Number(max);
    if (!Number.isInteger(maxStreams) || maxStreams < 1 || maxStreams > 1000) {
      return fail('Streams at once: a whole number from 1 to 1000.', ui.createMax);
    }
  }
  ui.createSubmit.disabled = true;
  try {
    const user = await api.createUser({ id: id || undefined, name, maxStreams });
    ui.createForm.reset();
    location.hash = `user=${encodeURIComponent(user.id)}`;
  } catch (err) {
    fail(err.status === 409 ? `The id "${id}" is taken.` : `Could not create the user: ${err.message}`);
  } finally {
    ui.createSubmit.disabled = false;
  }
});

ui.switchUser.addEventListener('click', () => {
  history.pushState(null, '', location.pathname + location.search);
  route();
  ui.search.focus();
});

// ---------------------------------------------------------------------------------------------
// Catalog

async function loadVideos() {
  if (state.videos.size > 0) return;
  if (state.videosLoading) return state.videosLoading;
  setText(ui.catalogStatus, 'Loading the catalog…');
  state.videosLoading = api.listVideos().then((videos) => {
    state.videos = new Map(videos.map((v) => [v.id, v]));
    setText(ui.catalogStatus, videos.length ? '' : 'The catalog is empty.');
    render();
  }, (err) => {
    setText(ui.catalogStatus, `Could not load the catalog (${err.message}); retrying when the connection is back.`);
  }).finally(() => { state.videosLoading = null; });
  return state.videosLoading;
}

// Plans change rarely: fetched once per page. Without them the header shows the plan's id only.
function loadPlans() {
  if (state.plans.size > 0 || state.plansLoading) return;
  state.plansLoading = api.listPlans().then((plans) => {
    state.plans = new Map(plans.map((p) => [p.id, p]));
    render();
  }, () => {}).finally(() => { state.plansLoading = null; });
}

function planText(user) {
  if (!user.plan) return '';
  const plan = state.plans.get(user.plan);
  if (!plan) return ` · plan ${user.plan}`;
  return ` · plan ${plan.id} (${plan.maxStreams} stream${plan.maxStreams === 1 ? '' : 's'} at once)`;
}

const POLICY_TEXT = {
  evict_oldest: ' · policy: oldest stream makes room',
  monitor: ' · policy: monitor (over the limit is allowed and recorded)',
};

function renderCatalog() {
  const videos = [...state.videos.values()];
  const playingHere = new Map();
  for (const p of state.players.values()) {
    if (p.state === 'playing' || p.state === 'pending') playingHere.set(p.videoId, (playingHere.get(p.videoId) ?? 0) + 1);
  }
  const elsewhere = new Map();
  for (const s of state.streams.values()) {
    if (!isOwn(s)) elsewhere.set(s.videoId, (elsewhere.get(s.videoId) ?? 0) + 1);
  }
  reconcile(ui.catalog, videos, (v) => v.id, (v) => {
    const playButton = h('button', {
      type: 'button', class: 'primary play', 'data-testid': 'play', 'data-video-id': v.id,
      'aria-label': `Play ${v.title}`, onclick: () => play(v.id),
    }, h('span', { 'aria-hidden': 'true' }, '▶ '), 'Play');
    return h('li', { class: 'video', 'data-testid': 'video', 'data-video-id': v.id },
      h('div', { class: 'video-poster' }, poster(v), h('span', { class: 'video-badges' })),
      h('div', { class: 'video-body' },
        h('h3', { class: 'video-title', 'data-testid': 'video-title' }, v.title),
        h('p', { class: 'video-meta' },
          h('span', { 'aria-label': `Duration ${humanDuration(v.durationSeconds)}` }, clock(v.durationSeconds)))),
      playButton);
  }, (el, v) => {
    const here = playingHere.get(v.id) ?? 0;
    const there = elsewhere.get(v.id) ?? 0;
    const badges = el.querySelector('.video-badges');
    const wanted = [here ? `▶ here${here > 1 ? ` ×${here}` : ''}` : null, there ? `elsewhere${there > 1 ? ` ×${there}` : ''}` : null]
      .filter(Boolean);
    if (badges.dataset.text !== wanted.join('|')) {
      badges.dataset.text = wanted.join('|');
      badges.replaceChildren(...wanted.map((t, i) => h('span', { class: `badge ${i === 0 && here ? 'badge-live' : ''}` }, t)));
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Players of this tab

function newPlayer(videoId, sessionId = randomId('s'), initial = 'pending') {
  return {
    sessionId,
    videoId,
    requestId: randomId('r'),
    state: initial, // restoring | pending | playing | stopping | denied | ended
    streamId: null,
    sentAt: 0,
    nextBeatAt: 0,
    leaseMs: 0,
    denial: null, // {reason, active, limit}
    endedReason: null,
    playback: null, // {token, expiresAt}: the stream's current playback token, its only copy
    tokenMs: 0, // the life of the last token when it came, which the heartbeats keep ahead of
    createdAt: now(),
  };
}

function play(videoId) {
  if (!state.user) return;
  const player = newPlayer(videoId);
  state.ownSessions.add(player.sessionId);
  state.players.set(player.sessionId, player);
  saveSessions();
  log(`Asking for a slot to play ${titleOf(videoId)}…`);
  sendStart(player);
  render();
}

/** Sends (or re-sends: same requestId, so the worker answers with its first decision) a start. */
function sendStart(player) {
  if (!state.synced || !state.live) return; // sent after the next snapshot
  player.sentAt = now();
  state.live.send({ type: 'start', videoId: player.videoId, sessionId: player.sessionId, requestId: player.requestId });
}

function retry(player) {
  player.requestId = randomId('r'); // a new attempt: a replayed id would get the old verdict
  player.state = 'pending';
  player.denial = null;
  player.endedReason = null;
  player.streamId = null;
  player.playback = null;
  saveSessions();
  log(`Retrying ${titleOf(player.videoId)}…`);
  sendStart(player);
  render();
}

function dismiss(player) {
  state.players.delete(player.sessionId);
  saveSessions();
  render();
  ui.playersTitle.focus({ preventScroll: true });
}

function startPlaying(player, stream) {
  player.state = 'playing';
  player.streamId = stream.streamId;
  player.denial = null;
  const lease = timeOf(stream.expiresAt) - serverNow();
  player.leaseMs = Number.isFinite(lease) && lease > 0 ? Math.max(lease, MIN_HEARTBEAT_MS * 3) : DEFAULT_LEASE_MS;
  player.nextBeatAt = now() + heartbeatEvery(player);
}

function renderPlayers() {
  const players = [...state.players.values()].filter((p) => p.state !== 'restoring');
  ui.playersEmpty.hidden = players.length > 0;
  reconcile(ui.players, players, (p) => p.sessionId,
    (p) => h('li', { class: 'player', 'data-testid': 'player', 'data-session-id': p.sessionId, 'data-video-id': p.videoId, tabindex: '-1' }),
    updatePlayer, ui.playersTitle);
}

/** Rebuilds a card only when what it shows changed, keeping focus on the same action. */
function updatePlayer(el, p) {
  const denialStreams = p.state === 'denied' ? sortedStreams() : [];
  const signature = JSON.stringify([p.state, p.streamId, p.endedReason, p.denial,
    denialStreams.map((s) => [s.streamId, state.stopping.has(s.streamId), isOwn(s)]), state.limit, state.videos.has(p.videoId)]);
  el.dataset.state = p.state;
  if (el.dataset.signature === signature) return;
  el.dataset.signature = signature;

  const focused = el.contains(document.activeElement) ? document.activeElement : null;
  const focusKey = focused ? `${focused.dataset.action}|${focused.dataset.streamId ?? ''}` : null;

  const video = videoOf(p.videoId);
  const title = video.title;
  const art = h('div', { class: 'player-art' }, poster(video));
  const heading = h('h3', { class: 'player-title', 'data-testid': 'player-title' }, title);
  let body;
  let actions;
  if (p.state === 'pending') {
    art.append(h('span', { class: 'player-overlay' }, h('span', { class: 'spinner', 'aria-hidden': 'true' })));
    body = h('p', { class: 'player-status', 'data-testid': 'player-status' },
      state.synced ? 'Asking for a slot…' : 'Waiting for the connection to ask for a slot…');
    actions = [];
  } else if (p.state === 'playing' || p.state === 'stopping') {
    const media = state.media.get(p.sessionId);
    if (media) art.append(media.element);
    art.append(h('span', { class: 'player-overlay live' }, h('span', { class: 'eq', 'aria-hidden': 'true' }, h('i'), h('i'), h('i')), h('span', { class: 'overlay-text' }, 'Playing')));
    body = h('div', { class: 'player-live' },
      h('div', { class: 'progress', 'aria-hidden': 'true' }, h('span', { class: 'progress-bar', 'data-progress': '' })),
      h('p', { class: 'player-clock', 'data-clock': '' }),
      h('p', { class: 'player-lease' },
        h('span', { class: 'lease-dot', 'aria-hidden': 'true' }),
        h('span', { 'data-testid': 'lease-countdown', 'data-lease': '' })));
    actions = [h('button', {
      type: 'button', class: 'danger', 'data-testid': 'player-stop', 'data-action': 'stop',
      'aria-label': `Stop ${title}`, disabled: p.state === 'stopping', onclick: () => stopStream(p.streamId),
    }, p.state === 'stopping' ? 'Stopping…' : 'Stop')];
  } else if (p.state === 'denied') {
    art.classList.add('dim');
    body = denialView(p, title, denialStreams);
    actions = [
      h('button', { type: 'button', class: 'primary', 'data-testid': 'player-retry', 'data-action': 'retry', 'aria-label': `Retry ${title}`, onclick: () => retry(p) }, 'Retry'),
      h('button', { type: 'button', 'data-testid': 'player-dismiss', 'data-action': 'dismiss', 'aria-label': `Dismiss ${title}`, onclick: () => dismiss(p) }, 'Dismiss'),
    ];
  } else {
    art.classList.add('dim');
    body = h('p', { class: 'player-status ended', 'data-testid': 'player-ended', role: 'status' }, ENDED_SHORT[p.endedReason] ?? REFUSED_TEXT[p.endedReason] ?? `Ended (${p.endedReason})`);
    actions = [
      h('button', { type: 'button', class: 'primary', 'data-testid': 'player-replay', 'data-action': 'retry', 'aria-label': `Play ${title} again`, onclick: () => retry(p) }, 'Play again'),
      h('button', { type: 'button', 'data-testid': 'player-dismiss', 'data-action': 'dismiss', 'aria-label': `Dismiss ${title}`, onclick: () => dismiss(p) }, 'Dismiss'),
    ];
  }
  el.replaceChildren(art, h('div', { class: 'player-body' }, heading, body, h('div', { class: 'player-actions' }, actions)));
  tickPlayer(el, p);

  if (focusKey) {
    const again = [...el.querySelectorAll('button')].find((b) => `${b.dataset.action}|${b.dataset.streamId ?? ''}` === focusKey && !b.disabled);
    (again ?? el.querySelector('button:not([disabled])') ?? el).focus({ preventScroll: true });
  }
}

/** "3 of 3 streams in use: Title A on this tab, Title B, Title C", with a Stop beside each. */
function denialView(p, title, streams) {
  const reason = p.denial?.reason ?? 'limit_reached';
  if (reason !== 'limit_reached') {
    return h('div', { class: 'denial', 'data-testid': 'denial', role: 'alert' },
      h('p', { class: 'denial-title' }, `Can't play ${title}: ${DENIED_TEXT[reason] ?? reason}.`));
  }
  const limit = state.limit ?? p.denial?.limit ?? streams.length;
  const sentence = `${streams.length} of ${limit} streams in use: ${streams.map((s) => `${titleOf(s.videoId)}${isOwn(s) ? ' on this tab' : ''}`).join(', ')}`;
  const free = streams.length < limit;
  return h('div', { class: 'denial', 'data-testid': 'denial', 'data-active': streams.length, 'data-limit': limit },
    h('p', { class: 'denial-title', role: 'alert', 'data-testid': 'denial-summary' },
      h('strong', { class: free ? 'free' : null }, free ? 'A slot is free now. ' : "Can't play: "),
      `${sentence}.`),
    h('ul', { class: 'denial-streams', 'aria-label': 'Streams in use' },
      streams.map((s) => h('li', { 'data-testid': 'denial-stream', 'data-stream-id': s.streamId, 'data-video-id': s.videoId },
        h('span', { class: 'denial-stream-text' },
          h('span', { class: 'denial-stream-title' }, titleOf(s.videoId)),
          h('span', { class: `where ${isOwn(s) ? 'where-here' : ''}` }, isOwn(s) ? 'this tab' : 'another device or tab')),
        h('button', {
          type: 'button', class: 'small danger', 'data-testid': 'denial-stop', 'data-action': 'stop', 'data-stream-id': s.streamId,
          'aria-label': `Stop ${titleOf(s.videoId)} (${whereOf(s)})`, disabled: state.stopping.has(s.streamId),
          onclick: () => stopStream(s.streamId),
        }, state.stopping.has(s.streamId) ? 'Stopping…' : 'Stop')))),
    h('p', { class: 'hint' }, free ? 'Press Retry to play.' : 'Stop one of them to free a slot, then press Retry.'));
}

function tickPlayer(el, p) {
  const stream = p.streamId ? state.streams.get(p.streamId) : null;
  if (!stream) return;
  const video = videoOf(p.videoId);
  const elapsed = Math.max(0, (serverNow() - timeOf(stream.startedAt)) / 1000);
  const duration = Number(video.durationSeconds) || 0;
  const clockEl = el.querySelector('[data-clock]');
  if (clockEl) setText(clockEl, duration ? `${clock(Math.min(elapsed, duration))} / ${clock(duration)}` : clock(elapsed));
  const bar = el.querySelector('[data-progress]');
  if (bar) bar.style.width = `${duration ? Math.min(100, (elapsed / duration) * 100).toFixed(2) : 0}%`;
  const leaseEl = el.querySelector('[data-lease]');
  if (leaseEl) {
    const left = Math.ceil((timeOf(stream.expiresAt) - serverNow()) / 1000);
    leaseEl.dataset.secondsLeft = String(Math.max(0, left));
    setText(leaseEl, left > 0
      ? `Lease ends in ${clock(left)} · renewed every ${Math.round(heartbeatEvery(p) / 1000)} s`
      : 'Lease ending…');
  }
}

// ---------------------------------------------------------------------------------------------
// Streams of the account, on every device

function renderStreams() {
  const streams = sortedStreams();
  ui.streamsEmpty.hidden = streams.length > 0;
  reconcile(ui.streams, streams, (s) => s.streamId, (s) => {
    const video = videoOf(s.videoId);
    return h('li', { class: 'stream', 'data-testid': 'stream', 'data-stream-id': s.streamId, 'data-video-id': s.videoId },
      h('div', { class: 'stream-thumb' }, poster(video)),
      h('div', { class: 'stream-text' },
        h('span', { class: 'stream-title', 'data-testid': 'stream-title' }, video.title),
        h('span', { class: 'stream-meta' },
          h('span', { class: 'where', 'data-testid': 'stream-where' }),
          h('span', { class: 'stream-lease', 'data-lease': '' }))),
      h('button', {
        type: 'button', class: 'small danger', 'data-testid': 'stream-stop', 'data-stream-id': s.streamId,
        onclick: () => stopStream(s.streamId),
      }));
  }, (el, s) => {
    const own = isOwn(s);
    el.dataset.owner = own ? 'this-tab' : 'other';
    const where = el.querySelector('[data-testid="stream-where"]');
    setText(where, own ? 'this tab' : 'another device or tab');
    where.classList.toggle('where-here', own);
    const title = el.querySelector('.stream-title');
    setText(title, titleOf(s.videoId));
    const stop = el.querySelector('button');
    const stopping = state.stopping.has(s.streamId);
    stop.disabled = stopping;
    setText(stop, stopping ? 'Stopping…' : 'Stop');
    stop.setAttribute('aria-label', `Stop ${titleOf(s.videoId)} (${whereOf(s)})`);
    tickStream(el, s);
  }, ui.streamsTitle);
}

function tickStream(el, s) {
  const left = Math.ceil((timeOf(s.expiresAt) - serverNow()) / 1000);
  setText(el.querySelector('[data-lease]'),
    `since ${timeOfDay(s.startedAt)} · lease ${left > 0 ? clock(left) : 'ending'}`);
}

async function stopStream(streamId) {
  if (!state.user || !streamId || state.stopping.has(streamId)) return;
  const generation = state.generation;
  state.stopping.add(streamId);
  const player = playerOfStream(streamId);
  if (player && player.state === 'playing') player.state = 'stopping';
  render();
  try {
    await api.stopStream(state.user.id, streamId);
  } catch (err) {
    if (generation !== state.generation) return;
    if (err.status !== 404) {
      state.stopping.delete(streamId);
      if (player && player.state === 'stopping') player.state = 'playing';
      announce(`Could not stop ${titleOf(state.streams.get(streamId)?.videoId ?? '')}: ${err.message}`, 'error');
      render();
      return;
    }
  }
  if (generation !== state.generation) return;
  // 204, or 404 (it had ended already): either way it is gone. The "ended" event may come first.
  removeStream(streamId, 'stopped', true);
}

ui.stopAll.addEventListener('click', async () => {
  if (!state.user) return;
  const generation = state.generation;
  ui.stopAll.disabled = true;
  state.stopAllInFlight = true;
  const count = state.streams.size;
  try {
    await api.stopAll(state.user.id);
    if (generation !== state.generation) return;
    for (const id of [...state.streams.keys()]) removeStream(id, 'stop_all', true, true);
    for (const p of [...state.players.values()]) {
      if (p.state === 'playing' || p.state === 'stopping') state.players.delete(p.sessionId);
    }
    saveSessions();
    announce(`Stopped all streams of the account (${count}).`, 'ended');
  } catch (err) {
    announce(`Could not stop all streams: ${err.message}`, 'error');
  } finally {
    state.stopAllInFlight = false;
    ui.stopAll.disabled = false;
    render();
  }
});

/**
 * A stream is gone. byThisTab: this tab stopped it, so its player card goes away; otherwise the
 * card stays with the reason, so whoever watched knows why the video stopped.
 */
function removeStream(streamId, reason, byThisTab, quiet = false) {
  const stream = state.streams.get(streamId);
  const player = playerOfStream(streamId);
  state.streams.delete(streamId);
  state.stopping.delete(streamId);
  if (player) {
    if (byThisTab) state.players.delete(player.sessionId);
    else {
      player.state = 'ended';
      player.endedReason = reason;
    }
    saveSessions();
  }
  if (stream && !quiet) {
    const title = titleOf(stream.videoId);
    if (byThisTab) log(`Stopped ${title} (${whereOf(stream)}).`, 'ended');
    else {
      log(`${title} (${whereOf(stream)}) ${ENDED_TEXT[reason] ?? `ended (${reason})`}.`, 'ended');
      toastEnded(title, reason);
    }
  }
  render();
}

// Ended events come in bursts (stop-all, a lease sweep): one toast per reason and burst.
const endedBurst = new Map(); // reason -> titles
let endedBurstTimer = null;

function toastEnded(title, reason) {
  if (!endedBurst.has(reason)) endedBurst.set(reason, []);
  endedBurst.get(reason).push(title);
  endedBurstTimer ??= setTimeout(() => {
    endedBurstTimer = null;
    for (const [why, titles] of endedBurst) {
      toast(titles.length === 1
        ? `${titles[0]} ${ENDED_TEXT[why] ?? `ended (${why})`}.`
        : `${titles.length} streams (${titles.join(', ')}) ${ENDED_TEXT_MANY[why] ?? `ended (${why})`}.`, 'ended');
    }
    endedBurst.clear();
  }, 150);
}

// ---------------------------------------------------------------------------------------------
// WebSocket events

function onMessage(msg) {
  if (!msg || typeof msg !== 'object') return;
  if (msg.userId !== undefined && msg.userId !== state.user?.id) return; // never another user's
  switch (msg.type) {
    case 'snapshot': return onSnapshot(msg);
    case 'verdict': return onVerdict(msg);
    case 'ended': return onEnded(msg);
    case 'heartbeat': return onHeartbeat(msg);
    case 'error': return onError(msg);
    default: return undefined; // newer servers may add types
  }
}

function onSnapshot(msg) {
  const streams = Array.isArray(msg.streams) ? msg.streams : [];
  if (Number.isInteger(msg.limit)) state.limit = msg.limit;
  state.streams = new Map(streams.map((s) => [s.streamId, s]));
  for (const id of [...state.stopping]) if (!state.streams.has(id)) state.stopping.delete(id);

  for (const p of [...state.players.values()]) {
    const s = streamOfSession(p.sessionId);
    if (s) {
      if (p.state !== 'playing' && p.state !== 'stopping') startPlaying(p, s);
      else p.streamId = s.streamId;
      p.nextBeatAt = Math.min(p.nextBeatAt, now() + MIN_HEARTBEAT_MS); // renew soon after a gap
    } else if (p.state === 'restoring') {
      state.players.delete(p.sessionId);
    } else if (p.state === 'stopping') {
      state.players.delete(p.sessionId); // what this tab asked for happened
    } else if (p.state === 'playing') {
      p.state = 'ended';
      p.endedReason = 'gone';
      log(`${titleOf(p.videoId)} (on this tab) ended while disconnected.`, 'ended');
    }
  }
  saveSessions();
  const wasReconnect = state.everSynced;
  state.everSynced = true;
  state.synced = true;
  state.live?.markSynced();
  // Players waiting for a verdict ask (again, same requestId) now that the page is in step.
  for (const p of state.players.values()) if (p.state === 'pending') sendStart(p);
  if (!state.videos.size) loadVideos();
  if (wasReconnect) log(`In step with the server: ${streams.length} stream${streams.length === 1 ? '' : 's'} in use.`);
  render();
}

function onVerdict(msg) {
  if (Number.isInteger(msg.limit)) state.limit = msg.limit;
  const player = state.players.get(msg.sessionId);
  const mine = player && (!msg.requestId || msg.requestId === player.requestId) && player.state === 'pending';
  const title = titleOf(msg.videoId);

  // A denied verdict's "streams" are not merged into the page's list: a verdict may be a replay
  // (same requestId, sent again after a lost answer) whose list is older than the events since.
  // The snapshot and the events in order keep the list; the denial card shows that live list.
  if (msg.verdict === 'allowed') {
    const stream = msg.stream ?? {
      streamId: msg.streamId, userId: msg.userId, videoId: msg.videoId, sessionId: msg.sessionId,
      startedAt: new Date(serverNow()).toISOString(), expiresAt: new Date(serverNow() + DEFAULT_LEASE_MS).toISOString(),
    };
    if (!stream.streamId) return;
    // A replayed verdict of a stream that has ended since must not bring it back.
    if (!mine && timeOf(stream.expiresAt) < serverNow()) return;
    const known = state.streams.has(stream.streamId);
    state.streams.set(stream.streamId, stream);
    if (mine) {
      const skew = timeOf(stream.startedAt) - now();
      if (!known && Number.isFinite(skew)) state.serverSkewMs = Math.abs(skew) < 1000 ? 0 : skew;
      startPlaying(player, stream);
      takePlayback(player, msg.playback);
      saveSessions();
      const over = msg.overLimit ? ' (over the limit: allowed by the monitor policy)' : '';
      log(`Playing ${title}: ${msg.active ?? state.streams.size} of ${msg.limit ?? state.limit} streams in use${over}.`, 'allowed');
      revealPlayer(player);
    } else if (!known && !isOwn(stream)) {
      log(`${title} started on another device or tab.`, 'allowed');
    }
  } else if (msg.verdict === 'denied') {
    if (mine) {
      player.state = 'denied';
      player.denial = { reason: msg.reason ?? 'limit_reached', active: msg.active, limit: msg.limit };
      saveSessions();
      log(`Refused ${title}: ${DENIED_TEXT[msg.reason] ?? msg.reason ?? 'denied'} (${msg.active ?? '?'} of ${msg.limit ?? '?'}).`, 'denied');
      revealPlayer(player);
    } else if (!player) {
      log(`Another device or tab was refused ${title}: ${DENIED_TEXT[msg.reason] ?? msg.reason ?? 'denied'}.`, 'denied');
    }
  }
  render();
}

/** The answer to this tab's Play is what its user waits for: bring the card into view. */
function revealPlayer(player) {
  requestAnimationFrame(() => {
    const el = ui.players.querySelector(`[data-session-id="${player.sessionId}"]`);
    if (!el) return;
    const r = el.getBoundingClientRect();
    if (r.top >= 0 && r.bottom <= window.innerHeight) return;
    el.scrollIntoView({ block: 'start' });
  });
}

function onEnded(msg) {
  const ours = state.stopping.has(msg.streamId) || (state.stopAllInFlight && msg.reason === 'stop_all');
  if (!state.streams.has(msg.streamId) && !playerOfStream(msg.streamId)) return; // already handled
  removeStream(msg.streamId, msg.reason, ours);
}

function onHeartbeat(msg) {
  const stream = state.streams.get(msg.streamId);
  if (!stream || !msg.expiresAt) return;
  stream.expiresAt = msg.expiresAt;
  const player = playerOfStream(msg.streamId);
  if (player) {
    const lease = timeOf(msg.expiresAt) - serverNow();
    if (Number.isFinite(lease) && lease > 0) player.leaseMs = Math.max(lease, MIN_HEARTBEAT_MS * 3);
    takePlayback(player, msg.playback);
  }
}

/** Every allowed verdict and heartbeat answer carries a fresh token; the player's video reads it. */
function takePlayback(player, playback) {
  if (typeof playback?.token !== 'string' || !playback.token) return;
  player.playback = playback;
  const life = timeOf(playback.expiresAt) - serverNow();
  if (Number.isFinite(life) && life > 0) player.tokenMs = life;
}

/**
 * One video per playing player of this tab, made when it starts playing and destroyed on the
 * render that follows its end (an "ended" event, a refusal, stop-all, a switch of user).
 */
function syncMedia() {
  for (const [sessionId, media] of state.media) {
    const p = state.players.get(sessionId);
    if (p && (p.state === 'playing' || p.state === 'stopping')) continue;
    media.destroy();
    state.media.delete(sessionId);
  }
  for (const p of state.players.values()) {
    if ((p.state !== 'playing' && p.state !== 'stopping') || state.media.has(p.sessionId)) continue;
    state.media.set(p.sessionId, new MediaPlayer(videoOf(p.videoId), {
      token: () => p.playback?.token ?? null,
      renewToken: () => { if (p.state === 'playing') beat(p); },
      onRefused: (code) => mediaRefused(p, code),
    }));
  }
}

/**
 * The media route refused the stream's token for good: the player ends, saying why. A player this
 * tab is stopping is left to the stop, which removes its card.
 */
function mediaRefused(player, code) {
  if (player.state !== 'playing') return;
  player.state = 'ended';
  player.endedReason = code;
  saveSessions();
  announce(`${titleOf(player.videoId)} (on this tab): ${REFUSED_TEXT[code] ?? `refused by the server (${code})`}.`, 'ended');
  render();
}

/**
 * {"type":"error","error":{code,message}}, with the "requestId" or "streamId" it is about when
 * there is one (the api adds them).
 */
function onError(msg) {
  const error = msg.error ?? {};
  const text = error.message ?? error.code ?? 'error';
  const pending = msg.requestId
    ? [...state.players.values()].find((p) => p.requestId === msg.requestId && p.state === 'pending') : null;
  if (pending) {
    // Not decided (no worker): the start is sent again with the same requestId shortly.
    pending.sentAt = now();
    log(`${titleOf(pending.videoId)} is not decided yet (${text}); asking again…`, 'warn');
    return;
  }
  if (msg.streamId) {
    const player = playerOfStream(msg.streamId);
    if (error.code === 'not_found') {
      // The stream ended and this page missed the event: drop it as the server says.
      removeStream(msg.streamId, 'gone', false);
      return;
    }
    if (player && player.state === 'playing') player.nextBeatAt = now() + HEARTBEAT_RETRY_MS;
    log(`${titleOf(state.streams.get(msg.streamId)?.videoId ?? msg.streamId)}: ${text}`, 'warn');
    return;
  }
  if (error.code === 'not_found' && !state.synced && state.user) {
    // The user is gone (the api refuses the socket): stop reconnecting, back to the picker.
    announce(`User "${state.user.id}" is not known to the server.`, 'error');
    history.replaceState(null, '', location.pathname + location.search);
    route();
    return;
  }
  announce(`Server: ${text}`, 'error');
}

// ---------------------------------------------------------------------------------------------
// Heartbeats, countdowns, re-sends: one clock for the page

async function beat(player) {
  const streamId = player.streamId;
  player.nextBeatAt = now() + heartbeatEvery(player);
  if (state.synced && state.live?.send({ type: 'heartbeat', streamId })) return;
  // No WebSocket: try REST, which also tells when the stream has ended meanwhile.
  const generation = state.generation;
  try {
    const reply = await api.heartbeat(state.user.id, streamId);
    if (generation === state.generation) onHeartbeat({ streamId, expiresAt: reply?.expiresAt, playback: reply?.playback });
  } catch (err) {
    if (generation !== state.generation) return;
    if (err.status === 404) removeStream(streamId, 'gone', false);
    else player.nextBeatAt = now() + HEARTBEAT_RETRY_MS;
  }
}

function tick() {
  if (!state.user) return;
  const t = now();
  for (const p of state.players.values()) {
    if ((p.state === 'playing') && p.streamId && t >= p.nextBeatAt) beat(p);
    if (p.state === 'pending' && state.synced && t - p.sentAt >= PENDING_RESEND_MS) sendStart(p);
  }
  for (const el of ui.players.children) {
    const p = state.players.get(el.dataset.sessionId);
    if (p) tickPlayer(el, p);
  }
  for (const el of ui.streams.children) {
    const s = state.streams.get(el.dataset.streamId);
    if (s) tickStream(el, s);
  }
  if (state.connection === 'waiting') renderConnection();
}

// ---------------------------------------------------------------------------------------------
// Rendering

let connectionDetail = {};

function setConnection(connection, detail = {}) {
  state.connection = connection;
  connectionDetail = detail;
  renderConnection();
  render();
}

function renderConnection() {
  const c = state.connection;
  // data-state is stable for tests: idle | connecting | connected | disconnected.
  const stable = { idle: 'idle', closed: 'idle', connecting: 'connecting', syncing: 'connecting', connected: 'connected', waiting: 'disconnected' }[c] ?? c;
  ui.connection.dataset.state = stable;
  let text;
  if (c === 'idle' || c === 'closed') text = 'No user chosen';
  else if (c === 'connected') text = 'Live';
  else if (c === 'syncing') text = 'Syncing…';
  else if (c === 'connecting') text = connectionDetail.attempt > 0 ? `Reconnecting (attempt ${connectionDetail.attempt})…` : 'Connecting…';
  else {
    const seconds = Math.max(0, Math.ceil(((connectionDetail.retryAt ?? 0) - now()) / 1000));
    text = `Offline · retrying in ${seconds} s`;
  }
  setText(ui.connectionText, text);
  ui.connection.setAttribute('aria-label', `Connection: ${text}`);
  ui.reconnect.hidden = c !== 'waiting';
}

function renderAccount() {
  const user = state.user;
  if (!user) return;
  setText(ui.userName, user.name);
  setText(ui.userId, `id ${user.id}${planText(user)}${POLICY_TEXT[user.policy] ?? ''}`);
  const look = avatarLook(user);
  setText(ui.avatar, look.letter);
  ui.avatar.style.setProperty('--hue', String(look.hue));
  const active = state.streams.size;
  const limit = state.limit ?? user.maxStreams;
  ui.usage.dataset.active = String(active);
  ui.usage.dataset.limit = String(limit);
  setText(ui.usage, `${active} of ${limit} stream${limit === 1 ? '' : 's'} in use`);
  ui.usage.classList.toggle('full', active >= limit);
  const segments = Math.min(Math.max(limit, active), 12);
  if (ui.meter.children.length !== segments || ui.meter.dataset.active !== String(active)) {
    ui.meter.dataset.active = String(active);
    const filled = limit > 12 ? Math.round((active / limit) * 12) : active;
    ui.meter.replaceChildren(...Array.from({ length: segments }, (_, i) =>
      h('span', { class: `seg ${i < filled ? 'on' : ''} ${i >= limit ? 'over' : ''}` })));
  }
  ui.stopAll.disabled = state.stopAllInFlight || active === 0;
}

function render() {
  ui.workspace.classList.toggle('stale', !!state.user && !state.synced);
  syncMedia();
  if (!state.user) {
    ui.players.replaceChildren();
    ui.streams.replaceChildren();
    return;
  }
  renderAccount();
  renderPlayers();
  renderStreams();
  renderCatalog();
}

ui.reconnect.addEventListener('click', () => state.live?.reconnectNow());

// ---------------------------------------------------------------------------------------------

window.addEventListener('hashchange', route);
window.addEventListener('popstate', route);
setInterval(tick, 1000);
renderConnection();
route();
