// The account's streams, on every device: the list with a Stop beside each, Stop all, and what
// happens when a stream ends (its player card, the log, one toast per burst of ends).

import { api } from './api.js';
import { h, reconcile, setText } from './dom.js';
import { clock, timeOf, timeOfDay } from './format.js';
import { announce, log, toast } from './log.js';
import { poster } from './poster.js';
import { saveSessions } from './sessions.js';
import {
  isOwn, playerOfStream, render, serverNow, sortedStreams, state, titleOf, videoOf, whereOf,
} from './state.js';
import { ENDED_TEXT, ENDED_TEXT_MANY } from './texts.js';
import { ui } from './ui.js';

export function renderStreams() {
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

export function tickStream(el, s) {
  const left = Math.ceil((timeOf(s.expiresAt) - serverNow()) / 1000);
  setText(el.querySelector('[data-lease]'),
    `since ${timeOfDay(s.startedAt)} · lease ${left > 0 ? clock(left) : 'ending'}`);
}

export async function stopStream(streamId) {
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

/**
 * A stream is gone. byThisTab: this tab stopped it, so its player card goes away; otherwise the
 * card stays with the reason, so whoever watched knows why the video stopped.
 */
export function removeStream(streamId, reason, byThisTab, quiet = false) {
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

/** The Stop all button. */
export function wireStopAll() {
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
}
