// The page's words for why a stream ended and why a start was refused: one sentence for the log,
// another for a burst of ends, a short one for a player card.

export const ENDED_TEXT = {
  stopped: 'was stopped',
  expired: 'expired: its lease ran out without a heartbeat',
  evicted: 'was evicted: a newer stream took its slot',
  stop_all: 'ended: all streams of the account were stopped',
  gone: 'ended (the server no longer has it)',
  deleted: 'ended: the account was deleted',
};
export const ENDED_TEXT_MANY = {
  stopped: 'were stopped',
  expired: 'expired: their leases ran out without a heartbeat',
  evicted: 'were evicted: newer streams took their slots',
  stop_all: 'ended: all streams of the account were stopped',
  gone: 'ended (the server no longer has them)',
  deleted: 'ended: the account was deleted',
};
export const ENDED_SHORT = {
  stopped: 'Stopped from another device or tab',
  expired: 'Lease expired (no heartbeat reached the server in time)',
  evicted: 'Evicted: a newer stream took this slot',
  stop_all: 'All streams of the account were stopped',
  gone: 'Ended (the server no longer has this stream)',
  deleted: 'The account was deleted',
};
export const DENIED_TEXT = {
  limit_reached: 'the limit of streams at once is reached',
  unknown_video: 'this video is not in the catalog',
};
