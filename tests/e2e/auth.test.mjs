// Browser test of the page against an api with --auth token (README "Auth"): the page sends the
// token of its token field with every call and on its WebSocket, and when the server refuses that
// token it says why and where a token goes (web/js/access.js) instead of retrying as if the server
// were down. A token replaced by the admin ends the page's access at once; the new one brings its
// stream back.
//
// Every wait is on a condition with a deadline, never a fixed sleep.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { after, before, test } from 'node:test';

import { launchBrowser } from './lib/browser.mjs';
import { newPage, reportFailure } from './lib/page.mjs';
import { shoot } from './lib/screenshot.mjs';
import { outDir, Stack } from './lib/stack.mjs';
import { stepsOf } from './lib/steps.mjs';
import { waitVideoAdvances } from './lib/video.mjs';
import { WAIT_MS } from './lib/wait.mjs';

const ADMIN_TOKEN = randomBytes(32).toString('base64url');
const runId = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e4).toString(36)}`;

let stack;
let browser;
const pageErrors = [];

const sel = {
  connection: (state) => `[data-testid="connection"][data-state="${state}"]`,
  notice: '[data-testid="access-notice"]',
  player: (videoId, state) => `[data-testid="player"][data-video-id="${videoId}"]${state ? `[data-state="${state}"]` : ''}`,
  streams: '[data-testid="streams"] [data-testid="stream"]',
};

/** Waits until the access notice is shown for `status`, its text holding `text`. */
function waitNotice(page, status, text) {
  return page.waitForFunction(([s, st, t]) => {
    const el = document.querySelector(s);
    return !!el && !el.hidden && el.dataset.status === String(st) && el.textContent.includes(t);
  }, [sel.notice, status, text], { timeout: WAIT_MS, polling: 100 });
}

/** Types a token into the page's token field and commits it (a change event) with Enter, which
 *  must not submit the field's form: a mark left on the window outlives only the same page. */
async function enterToken(page, token) {
  const field = page.getByTestId('token');
  await field.fill(token);
  await page.evaluate(() => { window.tokenTestMark = true; });
  await field.press('Enter');
  assert.equal(await page.evaluate(() => window.tokenTestMark), true, 'Enter loaded the page again');
}

before(async () => {
  mkdirSync(outDir, { recursive: true });
  stack = new Stack({ name: 'auth', apiArgs: ['--auth', 'token'], apiEnv: { STREAMGATE_ADMIN_TOKEN: ADMIN_TOKEN } });
  await stack.start({ leaseSeconds: 30 });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await stack?.stop();
});

test('with --auth token the page plays with its user token and says so when it is refused', async (t) => {
  const pages = {};
  const step = stepsOf(t, reportFailure({ stack, pages, pageErrors, prefix: 'auth-' }));
  let page;
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  let user;
  let other;
  let video;

  await step('the admin creates two users, and each gets its token', async () => {
    const created = [];
    for (const name of [`E2E Auth ${runId}`, `E2E Auth Other ${runId}`]) {
      const res = await stack.rest('POST', '/api/v1/users', { name }, { token: ADMIN_TOKEN });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      assert.match(res.body.token, /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
      created.push(res.body);
    }
    [user, other] = created;
    const refused = await stack.rest('GET', `/api/v1/users/${user.id}`);
    assert.equal(refused.status, 401);
    video = (await stack.rest('GET', '/api/v1/videos')).body[0];
    assert.ok(video, 'the catalog has a video');
  });

  await step('without a token the page says the user needs one, not that the server is down', async () => {
    page = pages.A = await newPage(context, 'A', pageErrors);
    await page.goto(`${stack.baseUrl}/#user=${encodeURIComponent(user.id)}`);
    await waitNotice(page, 401, 'needs an API token');
    await page.locator(sel.connection('unauthorized')).waitFor();
    assert.equal(await page.getByTestId('account').isHidden(), true);
    await shoot(page, 'auth-01-token-needed.png');
  });

  await step("another user's token is refused as another user's", async () => {
    await enterToken(page, other.token);
    await waitNotice(page, 403, "another user's");
    await page.locator(sel.connection('unauthorized')).waitFor();
  });

  await step("the user's own token opens the page, and a video plays", async () => {
    await enterToken(page, user.token);
    await page.locator(sel.connection('connected')).waitFor();
    assert.equal(await page.locator(sel.notice).isHidden(), true);
    await page.locator(`[data-testid="play"][data-video-id="${video.id}"]`).click();
    await page.locator(sel.player(video.id, 'playing')).waitFor();
    await waitVideoAdvances(page, video.id, WAIT_MS);
    await shoot(page, 'auth-02-playing.png');
  });

  await step('a token the admin replaced ends the page at once, saying why', async () => {
    const rotated = await stack.rest('POST', `/api/v1/users/${user.id}/token`, undefined, { token: ADMIN_TOKEN });
    assert.equal(rotated.status, 200, JSON.stringify(rotated.body));
    user.token = rotated.body.token;
    await waitNotice(page, 401, 'refused the API token');
    await page.locator(sel.connection('unauthorized')).waitFor();
    await page.locator('video').first().waitFor({ state: 'detached' });
    assert.equal(await page.getByTestId('account').isHidden(), true);
    await shoot(page, 'auth-03-token-replaced.png');
  });

  await step('the new token brings the page back to its stream, which plays on', async () => {
    await enterToken(page, user.token);
    await page.locator(sel.connection('connected')).waitFor();
    await page.locator(`${sel.streams}[data-video-id="${video.id}"][data-owner="this-tab"]`).waitFor();
    await page.locator(sel.player(video.id, 'playing')).waitFor();
    await waitVideoAdvances(page, video.id, WAIT_MS);
    const streams = await stack.rest('GET', `/api/v1/users/${user.id}/streams`, undefined, { token: user.token });
    assert.equal(streams.status, 200);
    assert.deepEqual(streams.body.map((s) => s.videoId), [video.id]);
  });

  await step('no page threw an uncaught error', async () => {
    assert.deepEqual(pageErrors, []);
  });

  await context.close();
});
