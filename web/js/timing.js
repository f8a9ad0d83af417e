// The page's clock settings: how long a lease is assumed to last, how often a playing stream is
// renewed, and when a heartbeat or a start without answer is tried again.

export const DEFAULT_LEASE_MS = 90_000;
// A third of the api's default playback token life (60 s; docs/design.md, "Playback enforcement"),
// so a token is always renewed well before the video's next request needs it.
const MAX_HEARTBEAT_MS = 20_000;
export const MIN_HEARTBEAT_MS = 1_000;
export const HEARTBEAT_RETRY_MS = 5_000; // after a heartbeat that could not be sent
export const PENDING_RESEND_MS = 5_000; // a start without verdict is sent again with the same requestId

export function heartbeatEvery(player) {
  const lease = Math.min(player.leaseMs || DEFAULT_LEASE_MS, player.tokenMs || Infinity);
  return Math.max(MIN_HEARTBEAT_MS, Math.min(MAX_HEARTBEAT_MS, Math.floor(lease / 3)));
}
