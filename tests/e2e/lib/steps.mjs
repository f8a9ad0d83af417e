// The steps of one scenario, run in order as subtests of its test `t`. Each step builds on what
// the one before left (pages, users, streams), so a failed step ends the scenario: the steps after
// it are not started, since they would fail for its reason rather than their own, and the
// scenario's test fails naming it. No step is ever reported as skipped.
// `onFailure(name)` runs once, when a step fails (screenshots, process logs).
export function stepsOf(t, onFailure) {
  return async (name, fn) => {
    let failure;
    await t.test(name, async () => {
      try {
        await fn();
      } catch (err) {
        failure = err;
        await onFailure(name);
        throw err;
      }
    });
    if (failure) throw new Error(`step "${name}" failed, so the steps after it did not run: ${failure.message}`);
  };
}
