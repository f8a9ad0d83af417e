// What every browser scenario does with its pages: open one that records its uncaught errors, wait
// for a count of elements or a line of the page's log, and report a failed step (a screenshot of
// each open page, the processes' logs, the pages' errors).

import { shoot } from './screenshot.mjs';
import { WAIT_MS } from './wait.mjs';

/** A new page of `context` whose uncaught errors go to `pageErrors`, prefixed with `name`. */
export async function newPage(context, name, pageErrors) {
  const page = await context.newPage();
  page.setDefaultTimeout(WAIT_MS);
  page.on('pageerror', (err) => pageErrors.push(`${name}: ${err.message}`));
  return page;
}

/** Waits until `selector` matches exactly `count` elements. */
export function waitCount(page, selector, count) {
  return page.waitForFunction(([s, n]) => document.querySelectorAll(s).length === n, [selector, count], { timeout: WAIT_MS, polling: 100 });
}

/** Waits until a line of the page's activity log holds `text`. */
export function waitLog(page, text) {
  return page.waitForFunction(([t]) => [...document.querySelectorAll('[data-testid="log-entry"]')]
    .some((e) => e.textContent.includes(t)), [text], { timeout: WAIT_MS, polling: 100 });
}

/**
 * The onFailure of stepsOf (steps.mjs): `pages` maps a label to a page (or to { page }), each open
 * one shot as failed-<prefix><label>.png.
 */
export function reportFailure({ stack, pages, pageErrors, prefix = '' }) {
  return async (name) => {
    for (const [label, entry] of Object.entries(pages)) {
      const page = entry?.page ?? entry;
      if (page && !page.isClosed()) await shoot(page, `failed-${prefix}${label}.png`).catch(() => {});
    }
    console.error(`step "${name}" failed; process logs:\n${stack.logs()}`);
    if (pageErrors.length) console.error(`page errors:\n${pageErrors.join('\n')}`);
  };
}
