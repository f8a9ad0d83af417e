// Heartbeats, countdowns, re-sends: one clock for the page. Each second it renews the leases that
// are due, asks again for starts without answer and moves the clocks on the cards.

import { api } from './api.js';
import { renderConnection } from './connection.js';
import { onHeartbeat } from './events.js';
import { sendStart, tickPlayer } from './players.js';
import { now, state } from './state.js';
import { removeStream, tickStream } from './streams.js';
import { heartbeatEvery, HEARTBEAT_RETRY_MS, PENDING_RESEND_MS } from './timing.js';
import { ui } from './ui.js';

export async function beat(player) {
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

export function tick() {
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
