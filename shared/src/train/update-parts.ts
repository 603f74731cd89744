import { InternalError, ShapeError } from '../errors.js';
import type { ParameterStore } from '../model/parameters.js';
import type { Tensor } from '../tensor/tensor.js';

/** An element range [start, end) of the flat parameter buffer (`store.values`). */
export interface UpdateRange {
  readonly start: number;
  readonly end: number;
}

/** How `applyUpdate` splits one step into parts (Note [update in parts] in update.ts). */
export interface UpdateParts {
  /** Element ranges [start, end) of the flat parameter buffer (store.values), tiling [0, store.values.size); any order. */
  readonly ranges: readonly UpdateRange[];
  /** Called after every parameter in ranges[i] (trainable and running statistics) holds this step's final value, in the order of `ranges`. */
  afterPart(index: number): void;
}

/**
 * Which parameters each part updates, by index: `trainable[i]` into `store.trainable` (and so into the
 * optimizer's segments), `running[i]` into `store.running`, both ascending. A pure function of the store's
 * layout and the ranges, computed once for a ranges array and reused every step.
 */
export interface UpdatePlan {
  readonly ranges: readonly UpdateRange[];
  readonly trainable: readonly (readonly number[])[];
  readonly running: readonly (readonly number[])[];
}

const TILING_HINT = 'pass ranges that tile [0, store.values.size) without gap or overlap, cut only where one parameter ends and the next begins';

/**
 * Assigns every trainable segment and running-statistics entry to the range holding its first element,
 * after checking that the ranges tile [0, store.values.size) and that no range ends inside a parameter.
 * Throws ShapeError naming the range (and the parameter it splits); an InternalError when a parameter's
 * tensor is not a view of `store.values` (then element offsets mean nothing).
 *
 * An empty range is legal and gets no parameter (a parameter of no values goes to the range holding the element
 * at its offset, or to the last non-empty range when it sits at the very end).
 */
export function planUpdateParts(store: ParameterStore, ranges: readonly UpdateRange[]): UpdatePlan {
  const total = store.values.size;
  const tiling = checkTiling(ranges, total);
  const owner = (what: string, value: Tensor): number => {
    const start = elementOffset(store, value, what);
    const end = start + value.size;
    const part = ownerOf(ranges, tiling, Math.min(start, total - 1));
    const range = ranges[part] as UpdateRange;
    if (end > range.end || start < range.start) {
      throw new ShapeError(
        `update in parts: range ${part} [${range.start}, ${range.end}) splits ${what} [${start}, ${end}) of ${parameterName(store, start)}`,
        { hint: TILING_HINT, context: { range: part, start: range.start, end: range.end } },
      );
    }
    return part;
  };
  const trainable = ranges.map((): number[] => []);
  const running = ranges.map((): number[] => []);
  store.trainable.forEach((s, i) => (trainable[owner(`trainable segment ${i}`, s.value)] as number[]).push(i));
  store.running.forEach((e, i) => (running[owner(`running entry ${i}`, e.value)] as number[]).push(i));
  return { ranges: ranges.map((r) => ({ start: r.start, end: r.end })), trainable, running };
}

/**
 * The plan for `ranges`, computed on first use and kept while the caller passes the same array with the
 * same bounds for the same store: the worker splits every step the same way, so a step plans nothing and
 * allocates nothing. The bounds are compared on every call (a few numbers), so an array edited in place
 * is re-planned rather than trusted.
 */
export function cachedUpdatePlan(store: ParameterStore, ranges: readonly UpdateRange[]): UpdatePlan {
  const hit = plans.get(ranges);
  if (hit !== undefined && hit.store === store && sameBounds(hit.plan.ranges, ranges)) return hit.plan;
  const plan = planUpdateParts(store, ranges);
  plans.set(ranges, { store, plan });
  return plan;
}

const plans = new WeakMap<readonly UpdateRange[], { readonly store: ParameterStore; readonly plan: UpdatePlan }>();

function sameBounds(a: readonly UpdateRange[], b: readonly UpdateRange[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    if ((a[i] as UpdateRange).start !== (b[i] as UpdateRange).start || (a[i] as UpdateRange).end !== (b[i] as UpdateRange).end) return false;
  }
  return true;
}

/**
 * Checks that the non-empty ranges, sorted by start, follow each other from 0 to `total`; returns the
 * indices of the non-empty ranges in that order (what `ownerOf` searches).
 */
function checkTiling(ranges: readonly UpdateRange[], total: number): number[] {
  ranges.forEach((r, i) => {
    if (!Number.isInteger(r.start) || !Number.isInteger(r.end) || r.start < 0 || r.end < r.start || r.end > total) {
      throw new ShapeError(`update in parts: range ${i} [${r.start}, ${r.end}) is not a range of the ${total} parameter values`, {
        hint: TILING_HINT,
        context: { range: i, start: r.start, end: r.end },
      });
    }
  });
  const order = ranges.map((_, i) => i).filter((i) => (ranges[i] as UpdateRange).end > (ranges[i] as UpdateRange).start);
  order.sort((a, b) => (ranges[a] as UpdateRange).start - (ranges[b] as UpdateRange).start);
  let next = 0;
  for (const i of order) {
    const r = ranges[i] as UpdateRange;
    if (r.start !== next) {
      throw new ShapeError(
        `update in parts: range ${i} [${r.start}, ${r.end}) ${r.start < next ? 'overlaps another range' : `leaves [${next}, ${r.start}) in no range`}`,
        { hint: TILING_HINT, context: { range: i, start: r.start, end: r.end } },
      );
    }
    next = r.end;
  }
  if (next !== total) {
    throw new ShapeError(`update in parts: the ranges leave [${next}, ${total}) in no range`, { hint: TILING_HINT, context: { start: next, end: total } });
  }
  return order;
}

/** The range holding element `at` (binary search over the tiling); with no values at all, the first range. */
function ownerOf(ranges: readonly UpdateRange[], tiling: readonly number[], at: number): number {
  let lo = 0;
  let hi = tiling.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const r = ranges[tiling[mid] as number] as UpdateRange;
    if (at < r.start) hi = mid - 1;
    else if (at >= r.end) lo = mid + 1;
    else return tiling[mid] as number;
  }
  if (ranges.length === 0) throw new ShapeError('update in parts: no ranges, but the model has parameters', { hint: TILING_HINT });
  return 0;
}

/**
 * The element offset of a parameter's tensor in `store.values`. A TrainableSegment carries no offset, but the
 * ParameterStore makes every parameter a subarray of `store.values`, so the views' byte offsets give it;
 * checked, because an offset measured in another buffer would silently misassign the parameter.
 */
function elementOffset(store: ParameterStore, value: Tensor, what: string): number {
  const base = store.values.data;
  const view = value.data;
  const bytes = view.byteOffset - base.byteOffset;
  const offset = bytes / base.BYTES_PER_ELEMENT;
  if (view.buffer !== base.buffer || !Number.isInteger(offset) || offset < 0 || offset + view.length > base.length) {
    throw new InternalError(`update in parts: ${what} is not a view of the flat parameter buffer`, {
      hint: 'parameters must be the ParameterStore\'s own views of store.values',
    });
  }
  return offset;
}

/** `layer/param` of the parameter starting at `offset`, for error messages. */
function parameterName(store: ParameterStore, offset: number): string {
  const e = store.entries.find((entry) => entry.offset === offset && entry.value.size > 0);
  return e === undefined ? 'an unknown parameter' : `${e.layer}/${e.spec.name}`;
}
