// Small DOM helpers: elements are built with the DOM API (text always goes through textContent,
// so nothing from the server is ever parsed as HTML), and keyed lists are updated in place so a
// keyboard user's focus survives a live update of a neighbouring row.

const SVG_NS = 'http://www.w3.org/2000/svg';

function apply(el, attrs) {
  for (const [key, value] of Object.entries(attrs ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') el.setAttribute('class', value);
    else if (key === 'text') el.textContent = value;
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else if (key.startsWith('on') && typeof value === 'function') {
      el.addEventListener(key.slice(2), value);
    } else if (value === true) el.setAttribute(key, '');
    else el.setAttribute(key, String(value));
  }
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

/** h('button', {class: 'x', onclick: f, 'aria-label': 'Stop'}, 'Stop') */
export function h(tag, attrs, ...children) {
  return append(apply(document.createElement(tag), attrs), children);
}

export function svg(tag, attrs, ...children) {
  return append(apply(document.createElementNS(SVG_NS, tag), attrs), children);
}

/**
 * Makes the children of `container` match `items`, reusing the element of each key.
 * create(item) returns a new element; update(el, item) refreshes it. Elements carry their key in
 * data-key. When the focused element is removed, focus moves to the next row (or `fallback`),
 * so a keyboard user is never dropped back to the top of the page.
 */
export function reconcile(container, items, keyOf, create, update, fallback) {
  const existing = new Map();
  for (const el of container.children) {
    if (el.dataset.key !== undefined) existing.set(el.dataset.key, el);
  }
  const wanted = items.map((item) => String(keyOf(item)));
  const wantedSet = new Set(wanted);
  const active = document.activeElement;
  let lostFocusAt = -1;
  [...container.children].forEach((el, index) => {
    if (el.dataset.key !== undefined && !wantedSet.has(el.dataset.key)) {
      if (active && el.contains(active)) lostFocusAt = index;
      el.remove();
    }
  });
  let previous = null;
  items.forEach((item, i) => {
    const key = wanted[i];
    let el = existing.get(key);
    if (!el) {
      el = create(item);
      el.dataset.key = key;
    }
    update?.(el, item);
    const expectedPosition = previous ? previous.nextElementSibling : container.firstElementChild;
    if (expectedPosition !== el) container.insertBefore(el, expectedPosition);
    previous = el;
  });
  if (lostFocusAt >= 0) {
    const rows = [...container.children];
    const next = rows[Math.min(lostFocusAt, rows.length - 1)];
    const target = next?.querySelector('button:not([disabled])') ?? fallback;
    target?.focus({ preventScroll: true });
  }
}

/** Sets text only when it changed (keeps screen readers and selection calm on ticks). */
export function setText(el, text) {
  if (el && el.textContent !== text) el.textContent = text;
}
