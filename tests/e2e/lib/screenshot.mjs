// A page's screenshot, into tests/e2e/out/. A phone page is shot as its screen shows it; a
// desktop page whole and from its top: a full-page shot keeps the scroll position, so the sticky
// app bar and the fixed toasts were drawn over the middle of the page (playback-02-A-evicted.png
// showed the bar across the players).
import path from 'node:path';

import { outDir } from './stack.mjs';

export async function shoot(page, file) {
  const fullPage = (page.viewportSize()?.width ?? 0) > 600;
  if (fullPage) await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: path.join(outDir, file), fullPage, animations: 'disabled', caret: 'hide' });
}
