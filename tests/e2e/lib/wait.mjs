// Waiting for conditions, never for a fixed time.

/** How long a step waits for what it expects (E2E_WAIT_MS). */
export const WAIT_MS = Number(process.env.E2E_WAIT_MS || 15000);

/** Polls until fn() is truthy and resolves to its value; for conditions outside a page (REST,
 *  the requests a page made). */
export async function eventually(fn, what, deadlineMs = WAIT_MS) {
  const deadline = Date.now() + deadlineMs;
  while (Date.now() < deadline) {
    const value = await fn();
    if (value) return value;
    await new Promise((r) => setTimeout(r, 200)); // the polling period
  }
  throw new Error(`timed out waiting for ${what}`);
}
