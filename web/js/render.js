// Rendering: the account header (user, plan, streams in use, the meter) and the whole page from
// the state, each part by its own module.

import { planText, POLICY_TEXT, renderCatalog } from './catalog.js';
import { h, setText } from './dom.js';
import { syncMedia } from './media.js';
import { avatarLook } from './picker.js';
import { renderPlayers } from './players.js';
import { state } from './state.js';
import { renderStreams } from './streams.js';
import { ui } from './ui.js';

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

export function renderPage() {
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
