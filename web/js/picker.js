// The user picker: search users by name (as the user types), and create one. The avatar it draws
// for each user is the account header's too.

import { api } from './api.js';
import { h, reconcile, setText } from './dom.js';
import { ID_PATTERN } from './format.js';
import { ui } from './ui.js';

let searchSeq = 0;
let searchTimer = null;

export async function searchUsers(text) {
  const seq = (searchSeq += 1);
  setText(ui.searchStatus, 'Searching…');
  try {
    const { users, more } = await api.findUsers(text.trim(), 30);
    if (seq !== searchSeq) return;
    reconcile(ui.results, users, (u) => u.id, (u) => {
      const li = h('li');
      li.append(h('button', {
        type: 'button', class: 'user-result', 'data-testid': 'user-result', 'data-user-id': u.id,
        onclick: () => { location.hash = `user=${encodeURIComponent(u.id)}`; },
      }));
      return li;
    }, (li, u) => {
      const button = li.firstElementChild;
      const limitText = `${u.plan ? `plan ${u.plan}, ` : ''}up to ${u.maxStreams} at once`;
      const active = Number(u.activeStreams) || 0;
      button.setAttribute('aria-label', `Watch as ${u.name} (${u.id}), ${limitText}, ${active} playing`);
      button.replaceChildren(
        avatar(u),
        h('span', { class: 'user-result-text' },
          h('span', { class: 'user-result-name' }, u.name),
          h('span', { class: 'user-result-meta' }, `${u.id} · ${limitText}${active ? ` · ${active} playing` : ''}`)),
      );
    });
    setText(ui.searchStatus, users.length === 0
      ? (text.trim() ? `No user matches "${text.trim()}". Create one →` : 'No users yet. Create one →')
      : more
        ? `The first ${users.length} users; more match: type more of the name`
        : `${users.length} user${users.length === 1 ? '' : 's'}`);
  } catch (err) {
    if (seq !== searchSeq) return;
    setText(ui.searchStatus, `Search failed: ${err.message}`);
  }
}

export function avatarLook(user) {
  const hue = [...String(user.id)].reduce((acc, c) => (acc * 31 + c.codePointAt(0)) % 360, 7);
  const letter = [...String(user.name || user.id).trim()][0]?.toUpperCase() ?? '?';
  return { hue, letter };
}

function avatar(user) {
  const { hue, letter } = avatarLook(user);
  return h('span', { class: 'avatar', 'aria-hidden': 'true', style: `--hue:${hue}` }, letter);
}

/** The search box and the create form. */
export function wirePicker() {
  ui.search.addEventListener('input', () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => searchUsers(ui.search.value), 200);
  });
  ui.searchForm.addEventListener('submit', (e) => {
    e.preventDefault();
    clearTimeout(searchTimer);
    searchUsers(ui.search.value);
  });

  ui.createForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    ui.createError.hidden = true;
    const name = ui.createName.value.trim();
    const id = ui.createId.value.trim();
    const max = ui.createMax.value.trim();
    const fail = (text, field) => {
      ui.createError.textContent = text;
      ui.createError.hidden = false;
      field?.focus();
    };
    if (!name) return fail('Give the user a name.', ui.createName);
    if (id && !ID_PATTERN.test(id)) return fail('The id may only hold letters, digits, _ and - (at most 64).', ui.createId);
    let maxStreams;
    if (max) {
      maxStreams = Number(max);
      if (!Number.isInteger(maxStreams) || maxStreams < 1 || maxStreams > 1000) {
        return fail('Streams at once: a whole number from 1 to 1000.', ui.createMax);
      }
    }
    ui.createSubmit.disabled = true;
    try {
      const user = await api.createUser({ id: id || undefined, name, maxStreams });
      ui.createForm.reset();
      location.hash = `user=${encodeURIComponent(user.id)}`;
    } catch (err) {
      fail(err.status === 409 ? `The id "${id}" is taken.` : `Could not create the user: ${err.message}`);
    } finally {
      ui.createSubmit.disabled = false;
    }
  });
}
