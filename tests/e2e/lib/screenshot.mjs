// A page's screenshot, into tests/e2e/out/. A phone page is shot as its screen shows it. A
// desktop page is shot whole, in a viewport as tall as the page for the moment of the shot: a
// full-page shot of a shorter viewport draws the sticky app bar and the fixed toasts where the
// viewport had them, over the middle of the page (the bar across the players in
// playback-02-A-evicted.png, a toast over the activity list in playback-03-A-stopped-elsewhere.png).
import path from 'node:path';

import { outDir } from './stack.mjs';

export async function shoot(page, file) {
  const options = { path: path.join(outDir, file), animations: 'disabled', caret: 'hide' };
  const viewport = page.viewportSize();
  if (!viewport || viewport.width <= 600) {
    await page.screenshot(options);
    return;
  }
  await page.evaluate(() => window.scrollTo(0, 0));
  const height = await page.evaluate(() => document.documentElement.scrollHeight);
  await page.setViewportSize({ width: viewport.width, height: Math.max(height, viewport.height) });
  try {
    await page.screenshot(options);
  } finally {
    await page.setViewportSize(viewport);
  }
}
