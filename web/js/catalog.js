// The catalog: the videos (each with its Play button and "here" / "elsewhere" badges) and the
// plans, both loaded once per page.

import { api } from './api.js';
import { h, reconcile, setText } from './dom.js';
import { clock, humanDuration } from './format.js';
import { play } from './players.js';
import { poster } from './poster.js';
import { isOwn, render, state } from './state.js';
import { ui } from './ui.js';

export async function loadVideos() {
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
export function loadPlans() {
  if (state.plans.size > 0 || state.plansLoading) return;
  state.plansLoading = api.listPlans().then((plans) => {
    state.plans = new Map(plans.map((p) => [p.id, p]));
    render();
  }, () => {}).finally(() => { state.plansLoading = null; });
}

export function planText(user) {
  if (!user.plan) return '';
  const plan = state.plans.get(user.plan);
  if (!plan) return ` · plan ${user.plan}`;
  return ` · plan ${plan.id} (${plan.maxStreams} stream${plan.maxStreams === 1 ? '' : 's'} at once)`;
}

export const POLICY_TEXT = {
  evict_oldest: ' · policy: oldest stream makes room',
  monitor: ' · policy: monitor (over the limit is allowed and recorded)',
};

export function renderCatalog() {
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
