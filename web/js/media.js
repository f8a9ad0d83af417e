// The videos of this tab's playing players (web/js/player.js), kept in step with the players on
// every render.

import { beat } from './heartbeats.js';
import { announce } from './log.js';
import { MediaPlayer, REFUSED_TEXT } from './player.js';
import { saveSessions } from './sessions.js';
import { render, state, titleOf, videoOf } from './state.js';

/**
 * One video per playing player of this tab, made when it starts playing and destroyed on the
 * render that follows its end (an "ended" event, a refusal, stop-all, a switch of user).
 */
export function syncMedia() {
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
