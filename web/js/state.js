// What the page knows, shared by every module: the one mutable state object, the lookups that read
// it, and the two page-wide calls (render, route) that modules below the renderer and the router
// make. app.js installs those two, so imports only go one way.

import { timeOf } from './format.js';

export const state = {
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

export const now = () => Date.now();
export const serverNow = () => now() + state.serverSkewMs;
export const titleOf = (videoId) => state.videos.get(videoId)?.title ?? videoId;
export const videoOf = (videoId) => state.videos.get(videoId) ?? { id: videoId, title: videoId };
export const isOwn = (stream) => state.ownSessions.has(stream.sessionId);
export const whereOf = (stream) => (isOwn(stream) ? 'on this tab' : 'on another device or tab');

export function playerOfStream(streamId) {
  for (const p of state.players.values()) if (p.streamId === streamId) return p;
  return null;
}

export function streamOfSession(sessionId) {
  for (const s of state.streams.values()) if (s.sessionId === sessionId) return s;
  return null;
}

export function sortedStreams() {
  return [...state.streams.values()].sort(
    (a, b) => (timeOf(a.startedAt) || 0) - (timeOf(b.startedAt) || 0) || a.streamId.localeCompare(b.streamId));
}

// Filled in by app.js with renderPage (render.js) and routePage (routing.js).
const page = { render: () => {}, route: async () => {} };

export function installPage({ render, route }) {
  page.render = render;
  page.route = route;
}

/** Redraws the page from the state. */
export const render = () => page.render();

/** Shows what the address names: a user's page, or the picker. */
export const route = () => page.route();
