// This tab's own sessions, kept in sessionStorage per user, so that after a reload its streams are
// still recognised as "this tab".

import { ID_PATTERN } from './format.js';
import { state } from './state.js';

function storageKey(userId) {
  return `streamgate.sessions.${userId}`;
}

/** This tab's sessions survive a reload (sessionStorage is per tab), so its streams stay "this tab". */
export function saveSessions() {
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

export function loadSessions(userId) {
  try {
    const list = JSON.parse(sessionStorage.getItem(storageKey(userId)) || '[]');
    return Array.isArray(list) ? list.filter((x) => x && ID_PATTERN.test(x.sessionId)) : [];
  } catch {
    return [];
  }
}
