// Browser test of a page that loses its connection while the account goes on elsewhere: page A
// reaches the api through a link the test cuts (lib/link.mjs), page B directly. While A is cut off,
// B stops one of A's streams and A asks for another video; once the link is back, A's snapshot says
// which of its players ended meanwhile and why, A's waiting start is decided, and what still plays
// plays on (web/js/events.js, onSnapshot); a Stop that could not reach the api said so. With
// only A's WebSocket cut, B stops one of A's streams, which A then learns from its video's
// refused request or its heartbeat (the card says so); A stops a stream of B's that B stopped
// meanwhile, which goes without an error, then stops all, which the answer alone shows. Then the
// user is deleted, and both pages say so; B then picks a demo user, whose header shows its plan.
//
// Every wait is on a condition with a deadline, never a fixed sleep.

import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { after, before, test } from 'node:test';

import { launchBrowser } from './lib/browser.mjs';
import { CuttableLink } from './lib/link.mjs';
import { newPage, reportFailure, waitCount, waitLog } from './lib/page.mjs';
import { shoot } from './lib/screenshot.mjs';
import { outDir, Stack } from './lib/stack.mjs';
import { stepsOf } from './lib/steps.mjs';
import { waitVideoAdvances } from './lib/video.mjs';
import { WAIT_MS } from './lib/wait.mjs';

const runId = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e4).toString(36)}`;

let stack;
let link;
let browser;
const pageErrors = [];

const sel = {
  connection: (state) => `[data-testid="connection"][data-state="${state}"]`,
  player: (videoId, state) => `[data-testid="player"][data-video-id="${videoId}"]${state ? `[data-state="${state}"]` : ''}`,
  stream: (videoId) => `[data-testid="streams"] [data-testid="stream"][data-video-id="${videoId}"]`,
  streams: '[data-testid="streams"] [data-testid="stream"]',
};

async function openPage(context, name, baseUrl, userId) {
  const page = await newPage(context, name, pageErrors);
  await page.goto(`${baseUrl}/#user=${encodeURIComponent(userId)}`);
  await page.locator(sel.connection('connected')).waitFor();
  return page;
}

before(async () => {
  mkdirSync(outDir, { recursive: true });
  stack = new Stack({ name: 'reconnect' });
  await stack.start({ leaseSeconds: 30 });
  link = new CuttableLink(stack.apiPort);
  await link.start();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await link?.stop();
  await stack?.stop();
});

test('a page cut off from the api catches up with what happened meanwhile', async (t) => {
  const pages = {};
  const step = stepsOf(t, reportFailure({ stack, pages, pageErrors, prefix: 'reconnect-' }));
  const contextA = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const contextB = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  let videos = [];
  let userId;

  await step('a fresh user plays two videos in page A, through a link that can be cut', async () => {
    videos = (await stack.rest('GET', '/api/v1/videos')).body;
    assert.ok(videos.length >= 3, `need 3 videos, the catalog has ${videos.length}`);
    const user = await stack.rest('POST', '/api/v1/users', { name: `E2E Reconnect ${runId}`, maxStreams: 3, policy: 'deny' });
    assert.equal(user.status, 201, JSON.stringify(user.body));
    userId = user.body.id;
    pages.A = await openPage(contextA, 'A', link.baseUrl, userId);
    pages.B = await openPage(contextB, 'B', stack.baseUrl, userId);
    const { A, B } = pages;
    for (const v of videos.slice(0, 2)) {
      await A.locator(`[data-testid="play"][data-video-id="${v.id}"]`).click();
      await A.locator(sel.player(v.id, 'playing')).waitFor();
    }
    await waitCount(B, sel.streams, 2);
  });
  const [v1, v2, v3] = videos;

  await step('while A is cut off, B stops one of its streams and A asks for a third video', async () => {
    const { A, B } = pages;
    link.cutNow();
    await A.locator(sel.connection('disconnected')).waitFor();
    await B.locator(`${sel.stream(v1.id)} [data-testid="stream-stop"]`).click();
    await waitCount(B, sel.streams, 1);
    await A.locator(`[data-testid="play"][data-video-id="${v3.id}"]`).click();
    await A.locator(`${sel.player(v3.id, 'pending')} [data-testid="player-status"]`)
      .filter({ hasText: 'Waiting for the connection' }).waitFor();
    // A cannot know yet: its card of the stopped video still plays.
    assert.equal(await A.locator(sel.player(v1.id, 'playing')).count(), 1);
    // A Stop that cannot reach the api says so, and the card plays on (Stop can be pressed again).
    await A.locator(`${sel.player(v2.id, 'playing')} [data-testid="player-stop"]`).click();
    await A.locator('[data-testid="toast"]').filter({ hasText: `Could not stop ${v2.title}` }).waitFor();
    await A.locator(`${sel.player(v2.id, 'playing')} [data-testid="player-stop"]:not([disabled])`).waitFor();
    await shoot(A, 'reconnect-01-A-cut-off.png');
  });

  await step('back online, A shows the stopped stream as ended, plays the third, and the second plays on', async () => {
    const { A, B } = pages;
    // The WebSocket first: the video's next request would tell the end too (403 stream_ended).
    link.cutNow('requests');
    await A.locator(sel.connection('connected')).waitFor(); // the next attempt: at most 5 s of backoff
    // Drawn with the snapshot that made the page connected, not later by a refused heartbeat.
    assert.equal(await A.locator(sel.player(v1.id, 'ended')).count(), 1);
    await A.locator(`${sel.player(v1.id, 'ended')} [data-testid="player-ended"]`)
      .filter({ hasText: 'the server no longer has this stream' }).waitFor();
    await waitLog(A, `${v1.title} (on this tab) ended while disconnected`);
    assert.equal(await A.locator(`${sel.player(v1.id)} video`).count(), 0);
    link.restore();
    await A.locator(sel.player(v3.id, 'playing')).waitFor();
    await A.locator(sel.player(v2.id, 'playing')).waitFor();
    await waitCount(A, sel.streams, 2);
    await waitCount(A, `${sel.streams}[data-owner="this-tab"]`, 2);
    await waitCount(B, `${sel.stream(v3.id)}[data-owner="other"]`, 1);
    await Promise.all([waitVideoAdvances(A, v2.id, WAIT_MS), waitVideoAdvances(A, v3.id, WAIT_MS)]);
    const rest = await stack.rest('GET', `/api/v1/users/${userId}/streams`);
    assert.deepEqual(rest.body.map((s) => s.videoId).sort(), [v2.id, v3.id].sort());
    await shoot(A, 'reconnect-02-A-caught-up.png');
  });

  await step('with only its WebSocket cut, A is refused a video that ended, stops one that ended, then all', async () => {
    const { A, B } = pages;
    await B.locator(`[data-testid="play"][data-video-id="${v1.id}"]`).click();
    await B.locator(sel.player(v1.id, 'playing')).waitFor();
    await A.locator(`${sel.stream(v1.id)}[data-owner="other"]`).waitFor();
    link.cutNow('websocket');
    await A.locator(sel.connection('disconnected')).waitFor();
    await B.locator(`${sel.player(v1.id, 'playing')} [data-testid="player-stop"]`).click();
    await waitCount(B, sel.streams, 2);
    // B stops one of A's too. A hears of it from its video's next request (403 stream_ended) or
    // its next heartbeat (404), whichever comes first, and the card says why.
    await B.locator(`${sel.stream(v2.id)} [data-testid="stream-stop"]`).click();
    await waitCount(B, sel.streams, 1);
    await A.locator(`${sel.player(v2.id, 'ended')} [data-testid="player-ended"]`)
      .filter({ hasText: /Refused by the server: this stream has ended|the server no longer has this stream/ }).waitFor();
    assert.equal(await A.locator(`${sel.player(v2.id)} video`).count(), 0);
    // A has not heard: its Stop still reaches the api (404, the stream is gone), as asked.
    await A.locator(`${sel.stream(v1.id)} [data-testid="stream-stop"]`).click();
    await waitCount(A, sel.stream(v1.id), 0);
    await waitLog(A, `Stopped ${v1.title} (on another device or tab)`);
    assert.equal(await A.locator('[data-testid="toast"]').filter({ hasText: `Could not stop ${v1.title}` }).count(), 0);
    // Stop all, answered while no event can come: the answer alone empties the page.
    await A.getByTestId('stop-all').click();
    await waitCount(A, sel.streams, 0);
    // Nothing plays; the card of the stream that ended while A was cut off stays until dismissed.
    await waitCount(A, '[data-testid="players"] [data-testid="player"]:not([data-state="ended"])', 0);
    await waitCount(A, sel.player(v1.id, 'ended'), 1);
    await waitCount(B, sel.streams, 0);
    link.restore();
    await A.locator(sel.connection('connected')).waitFor();
    await waitCount(A, sel.streams, 0);
  });

  await step('the user deleted, both pages say so and go back to the picker', async () => {
    const deleted = await stack.rest('DELETE', `/api/v1/users/${userId}`);
    assert.equal(deleted.status, 204);
    await Promise.all(Object.values(pages).map(async (page) => {
      await page.locator('[data-testid="toast"]').filter({ hasText: `User "${userId}" is not known to the server` }).waitFor();
      await page.getByTestId('user-picker').waitFor();
      assert.equal(new URL(page.url()).hash, '');
    }));
    await shoot(pages.A, 'reconnect-03-user-deleted.png');
  });

  await step("back at the picker, B finds a demo user by name, and its header shows the user's plan", async () => {
    const { B } = pages;
    await B.getByTestId('user-search').fill('carol');
    await B.locator('[data-testid="user-result"][data-user-id="carol"]').click();
    await B.getByTestId('current-user-id').filter({ hasText: 'plan premium (4 streams at once)' }).waitFor();
    await B.locator(sel.connection('connected')).waitFor();
  });

  await step('no page threw an uncaught error', async () => {
    assert.deepEqual(pageErrors, []);
  });

  await contextA.close();
  await contextB.close();
});
