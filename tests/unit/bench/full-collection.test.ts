import { describe, expect, it } from 'vitest';
import { fullCollection } from '../../../bench/src/backend/full-collection.js';

describe('bench memory: samples are taken after a full collection (Note [sampled after a full collection])', () => {
  it('the collection frees an object nothing references, and keeps one that is still referenced', async () => {
    const gc = fullCollection();
    expect(gc).not.toBeNull();
    let unreachable: WeakRef<object> | undefined;
    (() => {
      unreachable = new WeakRef({ payload: new Float64Array(100_000) });
    })();
    const kept = { payload: new Float64Array(100_000) };
    const keptRef = new WeakRef(kept);
    // A WeakRef's target lives at least until the current job ends.
    await new Promise((resolve) => setTimeout(resolve, 0));
    gc!();
    expect(unreachable!.deref()).toBeUndefined();
    expect(keptRef.deref()).toBe(kept);
  });

  it('hands out the same function every time (the flag is set once)', () => {
    expect(fullCollection()).toBe(fullCollection());
  });
});
