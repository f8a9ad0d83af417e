// This tab's players: one card per Play, from asking for a slot through playing (with its video,
// clock and lease countdown) to a refusal (the streams in use, each with a Stop) or an end.

import { h, reconcile, setText } from './dom.js';
import { clock, randomId, timeOf } from './format.js';
import { log } from './log.js';
import { REFUSED_TEXT } from './player.js';
import { poster } from './poster.js';
import { saveSessions } from './sessions.js';
import {
  isOwn, now, render, serverNow, sortedStreams, state, titleOf, videoOf, whereOf,
} from './state.js';
import { stopStream } from './streams.js';
import { DENIED_TEXT, ENDED_SHORT } from './texts.js';
import { DEFAULT_LEASE_MS, heartbeatEvery, MIN_HEARTBEAT_MS } from './timing.js';
import { ui } from './ui.js';

export function newPlayer(videoId, sessionId = randomId('s'), initial = 'pending') {
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

export function play(videoId) {
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
export function sendStart(player) {
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

export function startPlaying(player, stream) {
  player.state = 'playing';
  player.streamId = stream.streamId;
  player.denial = null;
  const lease = timeOf(stream.expiresAt) - serverNow();
  player.leaseMs = Number.isFinite(lease) && lease > 0 ? Math.max(lease, MIN_HEARTBEAT_MS * 3) : DEFAULT_LEASE_MS;
  player.nextBeatAt = now() + heartbeatEvery(player);
}

export function renderPlayers() {
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

export function tickPlayer(el, p) {
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
