// WebSocket events: a "snapshot" rebuilds the page's copy of the user's streams; "verdict",
// "ended", "heartbeat" and "error" update it in between, telling this tab's answers from others'.

import { loadVideos } from './catalog.js';
import { timeOf } from './format.js';
import { announce, log } from './log.js';
import { sendStart, startPlaying } from './players.js';
import { saveSessions } from './sessions.js';
import {
  isOwn, now, playerOfStream, render, route, serverNow, state, streamOfSession, titleOf,
} from './state.js';
import { removeStream } from './streams.js';
import { DENIED_TEXT } from './texts.js';
import {
  DEFAULT_LEASE_MS, HEARTBEAT_RETRY_MS, heartbeatEvery, MIN_HEARTBEAT_MS,
} from './timing.js';
import { ui } from './ui.js';

export function onMessage(msg) {
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

export function onHeartbeat(msg) {
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
  if (!Number.isFinite(life) || life <= 0) return;
  player.tokenMs = life;
  // The next heartbeat was planned without this token's life (the first one comes with the
  // verdict): a token shorter than a third of the lease would expire before it.
  player.nextBeatAt = Math.min(player.nextBeatAt, now() + heartbeatEvery(player));
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
