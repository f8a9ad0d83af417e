// Formatting and id helpers, free of DOM and network.

/** 5400 -> "1 h 30 min", 754 -> "12 min 34 s", 42 -> "42 s" (for labels). */
export function humanDuration(totalSeconds) {
  const s = Math.max(0, Math.round(Number(totalSeconds) || 0));
  const hours = Math.floor(s / 3600);
  const minutes = Math.floor((s % 3600) / 60);
  const seconds = s % 60;
  if (hours > 0) return minutes > 0 ? `${hours} h ${minutes} min` : `${hours} h`;
  if (minutes > 0) return seconds > 0 && minutes < 10 ? `${minutes} min ${seconds} s` : `${minutes} min`;
  return `${seconds} s`;
}

/** 5400 -> "1:30:00", 754 -> "12:34", 5 -> "0:05" (for clocks). */
export function clock(totalSeconds) {
  const s = Math.max(0, Math.floor(Number(totalSeconds) || 0));
  const hours = Math.floor(s / 3600);
  const minutes = Math.floor((s % 3600) / 60);
  const seconds = String(s % 60).padStart(2, '0');
  if (hours > 0) return `${hours}:${String(minutes).padStart(2, '0')}:${seconds}`;
  return `${minutes}:${seconds}`;
}

/** Milliseconds since the epoch of an ISO 8601 time, or NaN. */
export function timeOf(iso) {
  return typeof iso === 'string' ? Date.parse(iso) : Number.NaN;
}

/** "14:05" in the reader's locale. */
export function timeOfDay(msOrIso) {
  const ms = typeof msOrIso === 'number' ? msOrIso : timeOf(msOrIso);
  if (!Number.isFinite(ms)) return '';
  return new Date(ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

export function timeWithSeconds(ms) {
  return new Date(ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

/**
 * A random id matching the contract's [A-Za-z0-9_-]{1,64}. crypto.getRandomValues works in
 * insecure contexts too (crypto.randomUUID does not), so the page also works over plain http
 * from another machine.
 */
export function randomId(prefix) {
  const bytes = new Uint8Array(12);
  crypto.getRandomValues(bytes);
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  return `${prefix}_${hex}`;
}

export const ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
