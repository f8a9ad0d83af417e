// A poster for a video, generated from its id and title: a gradient and a motif whose colours and
// shapes come from a hash, so a video always gets the same poster and nothing is fetched.

import { svg } from './dom.js';

/** FNV-1a, 32 bits: tiny, stable, well spread for short strings. */
function hash(text) {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i += 1) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** A deterministic sequence of numbers in [0, 1) from a seed (mulberry32). */
function randomFrom(seed) {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function monogram(title) {
  const words = String(title || '?').split(/\s+/).filter((w) => /[\p{L}\p{N}]/u.test(w));
  const letters = words.filter((w) => !/^(the|a|an|of|and|la|le|el|der|die|das)$/i.test(w));
  const chosen = (letters.length ? letters : words).slice(0, 2);
  return chosen.map((w) => [...w.replace(/^[^\p{L}\p{N}]+/u, '')][0] ?? '').join('').toUpperCase() || '?';
}

let counter = 0;

/** An <svg> element (decorative: aria-hidden; the title is always written next to it). */
export function poster(video) {
  const id = String(video?.id ?? '');
  const title = String(video?.title ?? id);
  const rnd = randomFrom(hash(`${id}\u0000${title}`));
  const hue = Math.floor(rnd() * 360);
  const hue2 = (hue + 40 + Math.floor(rnd() * 120)) % 360;
  const angle = Math.floor(rnd() * 360);
  const gradientId = `pg${(counter += 1)}`;
  const W = 320;
  const H = 180;

  const shapes = [];
  const motif = Math.floor(rnd() * 4);
  if (motif === 0) {
    // A low sun with rings.
    const cx = 60 + rnd() * 200;
    const cy = 70 + rnd() * 60;
    for (let i = 4; i >= 1; i -= 1) {
      shapes.push(svg('circle', { cx, cy, r: 18 * i + rnd() * 8, fill: `hsl(${hue2} 90% ${55 + i * 6}% / ${0.12 + 0.05 * (5 - i)})` }));
    }
  } else if (motif === 1) {
    // Diagonal bands.
    for (let i = 0; i < 6; i += 1) {
      const x = -80 + i * 70 + rnd() * 20;
      shapes.push(svg('polygon', {
        points: `${x},${H} ${x + 40 + rnd() * 30},${H} ${x + 160},0 ${x + 120},0`,
        fill: `hsl(${(hue2 + i * 12) % 360} 85% 60% / ${0.08 + rnd() * 0.14})`,
      }));
    }
  } else if (motif === 2) {
    // Hills.
    for (let i = 0; i < 3; i += 1) {
      const base = 110 + i * 25;
      const peak = base - 30 - rnd() * 50;
      const mid = 60 + rnd() * 200;
      shapes.push(svg('path', {
        d: `M0 ${base} Q ${mid} ${peak} ${W} ${base - rnd() * 30} L ${W} ${H} L 0 ${H} Z`,
        fill: `hsl(${(hue + 200 + i * 10) % 360} 45% ${18 + i * 7}% / 0.7)`,
      }));
    }
  } else {
    // A field of dots.
    for (let i = 0; i < 28; i += 1) {
      shapes.push(svg('circle', {
        cx: rnd() * W, cy: rnd() * H, r: 2 + rnd() * 14,
        fill: `hsl(${rnd() > 0.5 ? hue2 : hue} 90% 70% / ${0.1 + rnd() * 0.25})`,
      }));
    }
  }

  const rad = (angle * Math.PI) / 180;
  return svg('svg', {
    class: 'poster', viewBox: `0 0 ${W} ${H}`, 'aria-hidden': 'true', focusable: 'false',
    preserveAspectRatio: 'xMidYMid slice',
  },
  svg('defs', null,
    svg('linearGradient', {
      id: gradientId,
      x1: (0.5 - Math.cos(rad) / 2).toFixed(3), y1: (0.5 - Math.sin(rad) / 2).toFixed(3),
      x2: (0.5 + Math.cos(rad) / 2).toFixed(3), y2: (0.5 + Math.sin(rad) / 2).toFixed(3),
    },
    svg('stop', { offset: '0', 'stop-color': `hsl(${hue} 70% 38%)` }),
    svg('stop', { offset: '1', 'stop-color': `hsl(${hue2} 65% 18%)` }))),
  svg('rect', { width: W, height: H, fill: `url(#${gradientId})` }),
  shapes,
  svg('text', {
    x: 18, y: H - 20, class: 'poster-mark', fill: 'rgba(255,255,255,0.9)',
  }, monogram(title)));
}
