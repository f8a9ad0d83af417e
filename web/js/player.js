// The video of one stream this tab plays (docs/design.md, "Playback enforcement"): the api serves
// /media/{videoId}/index.m3u8 and its segments only with a playback token of a live stream of that
// video, and every heartbeat answer brings a fresh token. The token lives with the page's player
// (token() reads it); every request hls.js makes is rewritten at send time to carry the current
// one, so a clip that loops past the first token's life keeps playing, and one whose stream ended
// is refused by the server even if this page never heard of the end.
//
// hls.js (docs/build.sh puts it beside Swagger UI, served at /docs/assets/) plays the clip through
// Media Source Extensions; a browser without them but with HLS of its own plays the playlist URL
// natively.

import { h } from './dom.js';

const HLS_SCRIPT = '/docs/assets/hls.min.js';
const TOKEN_POLL_MS = 250; // while waiting for a first or a renewed token
const RENEW_DEADLINE_MS = 10_000; // a refused token not replaced by then ends the player
// Renewals in a row without the video advancing in between, before a refusal is taken as final.
const MAX_RENEWALS = 3;
const MAX_RETRY_MS = 5_000;

/** What each refusal code of the media route means (docs/design.md, "Playback enforcement"). */
export const REFUSED_TEXT = {
  stream_ended: 'Refused by the server: this stream has ended',
  token_expired: 'Refused by the server: the playback token expired (no heartbeat renewed it in time)',
  wrong_video: 'Refused by the server: the playback token is for another video',
  invalid_token: 'Refused by the server: the playback token is not valid',
};

// A token that may only be stale (a heartbeat answer still on its way, an api restarted with a
// new key, or one that distrusts what it signed before it heard its worker again): the player asks
// for a fresh one, a few times, before it gives up. A heartbeat of an ended stream is refused, and
// the page then ends the player itself.
const RENEWABLE = new Set(['token_expired', 'invalid_token']);

let hlsLoading = null;

/** window.Hls, loaded once on the first play; null when the script cannot be had. */
function loadHls() {
  if (window.Hls) return Promise.resolve(window.Hls);
  hlsLoading ??= new Promise((resolve) => {
    const script = h('script', { src: HLS_SCRIPT, async: true });
    script.onload = () => resolve(window.Hls ?? null);
    script.onerror = () => {
      hlsLoading = null; // try again on the next play
      script.remove();
      resolve(null);
    };
    document.head.append(script);
  });
  return hlsLoading;
}

function withToken(url, token) {
  const u = new URL(url, location.href);
  u.searchParams.set('token', token);
  return u.href;
}

/** The error code of a refusal's JSON body, from the XMLHttpRequest hls.js used. */
function refusalCode(xhr) {
  try {
    let text = '';
    if (xhr.responseType === '' || xhr.responseType === 'text') text = xhr.responseText;
    else if (xhr.response instanceof ArrayBuffer) text = new TextDecoder().decode(xhr.response);
    return JSON.parse(text)?.error?.code ?? null;
  } catch {
    return null;
  }
}

export class MediaPlayer {
  /**
   * token(): the stream's current playback token, or null while none has come.
   * renewToken(): ask the server for a fresh one now (a heartbeat).
   * onRefused(code): the server refuses the video for good; the page ends the player.
   */
  constructor(video, { token, renewToken, onRefused }) {
    this.videoId = video.id;
    this.token = token;
    this.renewToken = renewToken;
    this.onRefused = onRefused;
    this.hls = null;
    this.timer = null;
    this.destroyed = false;
    this.failures = 0; // network failures since the video last advanced
    this.refusedToken = null; // set while waiting for a token to replace a refused one
    this.renewals = 0; // since the video last advanced
    this.refusedAt = 0;
    this.resumeAt = -1;
    this.lastTime = -1;
    this.video = h('video', {
      class: 'media-video', 'data-testid': 'player-video', 'data-video-id': video.id,
      playsinline: true, loop: true, muted: true, disablepictureinpicture: true,
      'aria-label': `${video.title}: demo clip`,
    });
    // Browsers only autoplay muted video; the attribute alone sets the default, not the state.
    this.video.muted = true;
    this.video.addEventListener('timeupdate', () => this.onTime());
    this.video.addEventListener('error', () => this.onNativeError());
    this.status = h('span', { class: 'media-status', 'data-testid': 'player-media-status', hidden: true });
    this.element = h('div', { class: 'media', 'data-testid': 'player-media', 'data-media-state': 'waiting' },
      this.video, this.status,
      h('span', { class: 'media-badge', title: 'A generated test clip, looped, stands in for the film' }, 'Demo clip'));
    this.start();
  }

  playlistUrl() {
    return withToken(`/media/${encodeURIComponent(this.videoId)}/index.m3u8`, this.token());
  }

  setState(mediaState, text = '') {
    this.element.dataset.mediaState = mediaState;
    this.status.textContent = text;
    this.status.hidden = !text;
  }

  later(fn, ms) {
    clearTimeout(this.timer);
    this.timer = setTimeout(fn, ms);
  }

  async start() {
    if (this.destroyed) return;
    if (!this.token()) {
      this.setState('waiting', 'Waiting for a playback token…');
      this.later(() => this.start(), TOKEN_POLL_MS);
      return;
    }
    this.setState('loading');
    const Hls = await loadHls();
    if (this.destroyed) return;
    if (Hls?.isSupported()) this.startHls(Hls);
    else if (this.video.canPlayType('application/vnd.apple.mpegurl')) this.startNative();
    else this.setState('unsupported', Hls ? 'This browser cannot play HLS video' : 'The video player (hls.js) could not be loaded');
  }

  startHls(Hls) {
    const hls = new Hls({
      // A short buffer and back buffer: the looping clip is fetched again on each pass, so the
      // server's refusal of an ended stream stops it within a few seconds even if this page
      // missed the "ended" event, and the rotating tokens are exercised all along.
      maxBufferLength: 4,
      maxMaxBufferLength: 6,
      backBufferLength: 2,
      startPosition: this.resumeAt,
      // hls.js keeps the segment URLs of the playlist (with the token it was served with):
      // each request carries the token current when it is sent instead.
      xhrSetup: (xhr, url) => xhr.open('GET', withToken(url, this.token()), true),
    });
    this.hls = hls;
    hls.on(Hls.Events.ERROR, (_event, data) => this.onHlsError(hls, Hls, data));
    hls.on(Hls.Events.MANIFEST_PARSED, () => this.play());
    hls.loadSource(this.playlistUrl());
    hls.attachMedia(this.video);
  }

  /** Native HLS fixes the segment URLs (and their token) when it loads the playlist. */
  startNative() {
    this.video.src = this.playlistUrl();
    if (this.resumeAt > 0) this.video.currentTime = this.resumeAt;
    this.play();
  }

  play() {
    this.video.play().catch(() => {}); // refused autoplay leaves the controls-free clip paused
  }

  onTime() {
    // A teardown's reset of the element fires timeupdate too: only a loaded clip counts.
    const mediaState = this.element.dataset.mediaState;
    if (mediaState !== 'loading' && mediaState !== 'playing') return;
    const t = this.video.currentTime;
    if (t === this.lastTime) return;
    this.lastTime = t;
    this.failures = 0;
    this.renewals = 0;
    if (this.element.dataset.mediaState !== 'playing') this.setState('playing');
  }

  onHlsError(hls, Hls, data) {
    if (this.destroyed || hls !== this.hls) return;
    const status = data.response?.code;
    if (status === 403) {
      this.refused(refusalCode(data.networkDetails ?? {}));
      return;
    }
    if (!data.fatal) return;
    if (data.type === Hls.ErrorTypes.MEDIA_ERROR && this.failures === 0) {
      this.failures += 1;
      hls.recoverMediaError();
      return;
    }
    this.retry();
  }

  async onNativeError() {
    if (this.destroyed || this.hls || !this.video.error) return;
    // The element says nothing about HTTP: ask the playlist with the current token why.
    try {
      const res = await fetch(this.playlistUrl(), { cache: 'no-store' });
      if (res.status === 403) {
        this.refused((await res.json().catch(() => null))?.error?.code ?? null);
        return;
      }
    } catch {
      // The api cannot be reached: retried below like any network failure.
    }
    this.retry();
  }

  /** The server refused a request: renew a token that may only be stale, else give up. */
  refused(code) {
    const refusedToken = this.token();
    this.teardown();
    if (RENEWABLE.has(code) && this.renewals < MAX_RENEWALS) {
      this.renewals += 1;
      this.refusedToken = refusedToken;
      this.refusedAt = Date.now();
      this.setState('renewing', 'Renewing the playback token…');
      this.renewToken();
      this.awaitToken(code);
      return;
    }
    this.giveUp(code);
  }

  giveUp(code) {
    this.refusedToken = null;
    this.setState('refused', REFUSED_TEXT[code] ?? 'Refused by the server');
    this.onRefused(code ?? 'refused');
  }

  awaitToken(code) {
    if (this.destroyed) return;
    if (this.token() && this.token() !== this.refusedToken) {
      this.refusedToken = null;
      this.start();
      return;
    }
    if (Date.now() - this.refusedAt > RENEW_DEADLINE_MS) {
      this.giveUp(code);
      return;
    }
    this.later(() => this.awaitToken(code), TOKEN_POLL_MS);
  }

  /** A network or decoding failure (the api restarting, say): start again where it was. */
  retry() {
    this.teardown();
    const delay = Math.min(MAX_RETRY_MS, 500 * 2 ** this.failures);
    this.failures += 1;
    this.setState('retrying', 'Reconnecting to the video…');
    this.later(() => this.start(), delay);
  }

  teardown() {
    clearTimeout(this.timer);
    if (this.video.currentTime > 0) this.resumeAt = this.video.currentTime;
    const hls = this.hls;
    this.hls = null;
    hls?.destroy();
    if (this.video.getAttribute('src')) {
      this.video.removeAttribute('src');
      this.video.load();
    }
  }

  /** Stops loading and playing at once (the stream ended); the element leaves the page. */
  destroy() {
    if (this.destroyed) return;
    this.destroyed = true;
    this.teardown();
    this.video.pause();
    this.element.remove();
  }
}
