// Conditions on the <video> of a player card (web/js/player.js), for the browser tests.

/** The <video> of the player card of `videoId` (at most one card per video in these tests). */
export const videoSelector = (videoId) => `[data-testid="player"][data-video-id="${videoId}"] video[data-testid="player-video"]`;

let advanceWaits = 0;

/**
 * Waits until the video of `videoId` has played on for `seconds` (a second unless told): the
 * forward steps of its currentTime between polls add up to that. Jumps are not counted: the clip loops (back to 0), and
 * a player that reloads (a renewed token) starts again where it was or at 0, and its decoded
 * frame count starts again from 0 too.
 */
export async function waitVideoAdvances(page, videoId, timeout, seconds = 1) {
  const selector = videoSelector(videoId);
  const key = `${videoId}-${(advanceWaits += 1)}`;
  await page.waitForFunction(([s, k, seconds]) => {
    const progress = (window.__videoProgress ??= {});
    const p = (progress[k] ??= { last: null, played: 0 });
    const v = document.querySelector(s);
    if (!v || v.paused) {
      p.last = null;
      return false;
    }
    const t = v.currentTime;
    if (p.last !== null && t > p.last && t - p.last < 1) p.played += t - p.last;
    p.last = t;
    return p.played >= seconds;
  }, [selector, key, seconds], { timeout, polling: 100 });
}

/**
 * Records the media requests of a page: the tokens each video's requests carried and every
 * refusal, so a test can tell that requests follow the rotating token and are never refused.
 */
export function watchMedia(page) {
  const tokens = new Map(); // videoId -> Set of tokens, in the order first seen
  const refusals = [];
  page.on('request', (req) => {
    const url = new URL(req.url());
    const match = url.pathname.match(/^\/media\/([^/]+)\//);
    if (!match) return;
    if (!tokens.has(match[1])) tokens.set(match[1], new Set());
    tokens.get(match[1]).add(url.searchParams.get('token'));
  });
  page.on('response', (res) => {
    if (new URL(res.url()).pathname.startsWith('/media/') && res.status() >= 400) refusals.push(`${res.status()} ${res.url()}`);
  });
  return {
    tokens: (videoId) => [...(tokens.get(videoId) ?? [])],
    lastToken: (videoId) => [...(tokens.get(videoId) ?? [])].at(-1),
    refusals,
  };
}
