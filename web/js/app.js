// streamgate demo page: choose a user, play videos, and watch the concurrent-stream limit work.
//
// Truth lives on the server. The page keeps a copy of the user's live streams that it rebuilds
// from every WebSocket "snapshot" (on connect and after each reconnect) and updates from
// "verdict" / "ended" / "heartbeat" events in between. Verdicts reach every tab of the user, so
// this tab recognises its own by the sessionId (one per player) and requestId (one per attempt)
// that it chose; everything else is "another device or tab".
//
// This file only wires the page together; each part is a module of its own:
//   ui.js          the page's elements, found once
//   state.js       the shared state, its lookups, and the page-wide render() and route()
//   timing.js      lease, heartbeat and re-send intervals
//   sessions.js    this tab's sessions, kept across a reload
//   texts.js       the words for a stream's end and a refusal
//   log.js         the event log and toasts
//   routing.js     #user=ID: entering and leaving a user, the user's WebSocket
//   picker.js      the user picker: search and create
//   catalog.js     the videos and plans
//   players.js     this tab's player cards
//   streams.js     the account's streams on every device, Stop and Stop all
//   events.js      the WebSocket's events
//   media.js       the video of each playing player
//   heartbeats.js  the page's one-second clock: heartbeats, countdowns, re-sends
//   connection.js  the connection badge
//   token.js       the API token field
//   access.js      what the page says when the server refuses that token
//   render.js      the account header, and the whole page from the state

import { renderConnection, wireReconnect } from './connection.js';
import { tick } from './heartbeats.js';
import { wirePicker } from './picker.js';
import { renderPage } from './render.js';
import { reenterPage, routePage } from './routing.js';
import { installPage, route } from './state.js';
import { wireStopAll } from './streams.js';
import { wireToken } from './token.js';
import { ui } from './ui.js';

installPage({ render: renderPage, route: routePage });

wirePicker();
ui.switchUser.addEventListener('click', () => {
  history.pushState(null, '', location.pathname + location.search);
  route();
  ui.search.focus();
});
wireStopAll();
wireReconnect();
wireToken(reenterPage);

window.addEventListener('hashchange', route);
window.addEventListener('popstate', route);
setInterval(tick, 1000);
renderConnection();
route();
