// What a page's WebSocket says about its playback tokens (docs/design.md §9): each token it was
// given (in an allowed verdict or a heartbeat's answer) and each heartbeat it sent, so a test can
// tell that every token was renewed while it was still valid, whatever hls.js happened to fetch.

function parse(payload) {
  try {
    return JSON.parse(payload);
  } catch {
    return null;
  }
}

export function watchRenewals(page) {
  const given = []; // { streamId, at, expiresAt, type }, in the order received
  const beats = new Map(); // streamId -> times a heartbeat for it was sent
  page.on('websocket', (ws) => {
    ws.on('framesent', ({ payload }) => {
      const msg = parse(payload);
      if (msg?.type !== 'heartbeat' || typeof msg.streamId !== 'string') return;
      if (!beats.has(msg.streamId)) beats.set(msg.streamId, []);
      beats.get(msg.streamId).push(Date.now());
    });
    ws.on('framereceived', ({ payload }) => {
      const msg = parse(payload);
      if (msg?.type !== 'verdict' && msg?.type !== 'heartbeat') return;
      const streamId = msg.streamId ?? msg.stream?.streamId;
      const expiresAt = Date.parse(msg.playback?.expiresAt);
      if (typeof streamId === 'string' && Number.isFinite(expiresAt)) {
        given.push({ streamId, at: Date.now(), expiresAt, type: msg.type });
      }
    });
  });
  return {
    /** The tokens that expired before `now` with no heartbeat sent for their stream meanwhile. */
    unrenewed(now = Date.now()) {
      return given.filter((g) => g.expiresAt <= now &&
        !(beats.get(g.streamId) ?? []).some((t) => t >= g.at && t < g.expiresAt));
    },
    /** How many tokens the page was given. */
    count: () => given.length,
  };
}
