import { ConfigError, DataError, InternalError } from '../errors.js';
import { formatShape, sizeOf, type Shape } from '../tensor/tensor.js';
import { allocShared, ensureShared, refOf, view, type SharedArrayRef } from './shared-memory.js';
import { validationSplitPoint } from './split.js';

/** Stored features: uint8 pixels (IDX) or float32 values (CSV, float IDX). Never a normalised copy. */
export type FeatureArray = Uint8Array | Float32Array;
/** Stored labels, one class index per sample. */
export type LabelArray = Uint8Array | Int32Array;

export interface DatasetInit {
  /** Shown in errors and reports; the file path for file-backed data sets. */
  readonly name: string;
  /** The stored shape of one sample, e.g. [28, 28]; the model may view it as any shape of equal size. */
  readonly sampleShape: Shape;
  /** Labels are 0..classes−1. A regression data set has classes 1. */
  readonly classes: number;
  /** count × featureSize values, row-major. Copied once into shared memory if not already shared. */
  readonly features: FeatureArray;
  /** One label per sample; count = labels.length. Copied once into shared memory if not already shared. May be left out when `targets` is given. */
  readonly labels?: LabelArray;
  /** A regression data set: one real-valued target per sample (instead of a class label). */
  readonly targets?: Float32Array;
  /** The name of each class 0..classes−1, when the data named them (string CSV labels). */
  readonly classNames?: readonly string[];
  /** Multiplier applied when gathering. Default 1/255 for uint8 features (pixels → [0, 1]), 1 for float32. */
  readonly scale?: number;
}

/**
 * What another thread needs to rebuild a Dataset over the same memory: plain data and
 * SharedArrayBuffers, so it passes through postMessage/structuredClone without copying pixels.
 */
export interface DatasetDescriptor {
  readonly kind: 'gradmesh.dataset/1';
  readonly name: string;
  readonly sampleShape: readonly number[];
  readonly classes: number;
  readonly scale: number;
  readonly features: SharedArrayRef<'uint8'> | SharedArrayRef<'float32'>;
  readonly labels: SharedArrayRef<'uint8'> | SharedArrayRef<'int32'>;
  /** Present for subsets: logical sample i is stored row rows[i]. */
  readonly rows?: SharedArrayRef<'uint32'>;
  readonly targets?: SharedArrayRef<'float32'>;
  readonly classNames?: readonly string[];
}

export interface DatasetPair {
  readonly train: Dataset;
  readonly test: Dataset;
}

/** The immutable stored form shared by a data set and all its subsets. */
interface Store {
  readonly name: string;
  readonly sampleShape: Shape;
  readonly featureSize: number;
  readonly classes: number;
  readonly scale: number;
  readonly features: FeatureArray;
  readonly labels: LabelArray;
  readonly targets: Float32Array | undefined;
  readonly classNames: readonly string[] | undefined;
  /** uint8 value → normalised float32, built once per store (256 entries). */
  readonly lookup: Float32Array | undefined;
}

/**
 * A labelled data set in its compact stored form, normalised to float32 only when a batch is
 * gathered. A Dataset is either a whole store or a subset of one: subsets hold a list of stored
 * row numbers and share the store's pixels, so a validation split or a shard costs an index list,
 * never a copy of the data.
 */
export class Dataset {
  readonly name: string;
  readonly count: number;
  readonly sampleShape: Shape;
  readonly featureSize: number;
  readonly classes: number;
  /** Multiplier applied to stored features when gathering (1/255 for uint8 pixels by default). */
  readonly scale: number;
  /** `regression` when samples carry a real-valued target instead of a class label. */
  readonly task: 'classification' | 'regression';
  /** Names of the classes 0..classes−1 when the data named them (e.g. "setosa"), else undefined. */
  readonly classNames: readonly string[] | undefined;
  readonly #store: Store;
  /** Logical → stored row, or undefined when this is the whole store in stored order. */
  readonly #rows: Uint32Array | undefined;
  #labelsInOrder: LabelArray | undefined;

  private constructor(store: Store, rows: Uint32Array | undefined) {
    this.#store = store;
    this.#rows = rows;
    this.name = store.name;
    this.count = rows === undefined ? store.labels.length : rows.length;
    this.sampleShape = store.sampleShape;
    this.featureSize = store.featureSize;
    this.classes = store.classes;
    this.scale = store.scale;
    this.task = store.targets === undefined ? 'classification' : 'regression';
    this.classNames = store.classNames;
    this.#labelsInOrder = rows === undefined ? store.labels : undefined;
  }

  /** A data set over the given arrays; checks that sizes agree and labels lie in 0..classes−1. */
  static create(init: DatasetInit): Dataset {
    const { name, classes } = init;
    const sampleShape = [...init.sampleShape];
    const featureSize = sizeOf(sampleShape);
    const initLabels = init.labels ?? (init.targets === undefined ? undefined : new Uint8Array(init.targets.length));
    if (initLabels === undefined) throw new InternalError(`${name}: Dataset.create needs labels or targets`);
    const count = initLabels.length;
    if (!Number.isInteger(classes) || classes < 1) throw new DataError(name, `classes must be an integer ≥ 1, got ${classes}`);
    if (init.targets !== undefined && (init.targets.length !== count || classes !== 1)) {
      throw new InternalError(`${name}: a regression data set needs one target per sample (${init.targets.length} for ${count}) and classes 1 (got ${classes})`);
    }
    if (init.classNames !== undefined && init.classNames.length !== classes) {
      throw new InternalError(`${name}: ${init.classNames.length} class names for ${classes} classes`);
    }
    if (featureSize < 1) throw new DataError(name, `sample shape ${formatShape(sampleShape)} has no elements`);
    if (init.features.length !== count * featureSize) {
      throw new DataError(
        name,
        `${init.features.length} feature values do not make ${count} samples of shape ${formatShape(sampleShape)} (${count * featureSize} values)`,
      );
    }
    for (let i = 0; i < count; i++) {
      const label = initLabels[i] as number;
      if (label < 0 || label >= classes) {
        throw new DataError(name, `label ${label} of sample ${i} is outside 0..${classes - 1}`, { context: { index: i, label } });
      }
    }
    const scale = init.scale ?? (init.features instanceof Uint8Array ? 1 / 255 : 1);
    if (!Number.isFinite(scale)) throw new DataError(name, `scale must be a finite number, got ${scale}`);
    const features = init.features instanceof Uint8Array ? ensureShared('uint8', init.features) : ensureShared('float32', init.features);
    const labels = initLabels instanceof Uint8Array ? ensureShared('uint8', initLabels) : ensureShared('int32', initLabels);
    const targets = init.targets === undefined ? undefined : ensureShared('float32', init.targets);
    const classNames = init.classNames === undefined ? undefined : [...init.classNames];
    return new Dataset(makeStore(name, sampleShape, classes, scale, features, labels, targets, classNames), undefined);
  }

  /** Rebuilds, in any thread, a view over the memory described by `toShared()`. Copies nothing. */
  static fromShared(descriptor: DatasetDescriptor): Dataset {
    if (descriptor.kind !== 'gradmesh.dataset/1') {
      throw new InternalError(`Dataset.fromShared: not a dataset descriptor (kind ${String(descriptor.kind)})`);
    }
    const d = descriptor;
    // The ternaries narrow each union so view() returns the matching typed array.
    const features = d.features.dtype === 'uint8' ? view(d.features) : view(d.features);
    const labels = d.labels.dtype === 'uint8' ? view(d.labels) : view(d.labels);
    const targets = d.targets === undefined ? undefined : view(d.targets);
    const store = makeStore(d.name, [...d.sampleShape], d.classes, d.scale, features, labels, targets, d.classNames === undefined ? undefined : [...d.classNames]);
    return new Dataset(store, d.rows === undefined ? undefined : view(d.rows));
  }

  toShared(): DatasetDescriptor {
    const s = this.#store;
    const base = {
      kind: 'gradmesh.dataset/1' as const,
      name: s.name,
      sampleShape: [...s.sampleShape],
      classes: s.classes,
      scale: s.scale,
      features: s.features instanceof Uint8Array ? refOf('uint8', s.features) : refOf('float32', s.features),
      labels: s.labels instanceof Uint8Array ? refOf('uint8', s.labels) : refOf('int32', s.labels),
      ...(s.targets === undefined ? {} : { targets: refOf('float32', s.targets) }),
      ...(s.classNames === undefined ? {} : { classNames: [...s.classNames] }),
    };
    return this.#rows === undefined ? base : { ...base, rows: refOf('uint32', this.#rows) };
  }

  /**
   * Labels in this data set's sample order. For a whole store this is a view of the shared
   * labels; for a subset it is gathered once (count small integers; pixels are never copied).
   */
  get labels(): LabelArray {
    if (this.#labelsInOrder === undefined) {
      const stored = this.#store.labels;
      const out = stored instanceof Uint8Array ? new Uint8Array(this.count) : new Int32Array(this.count);
      for (let i = 0; i < this.count; i++) out[i] = stored[this.#row(i)] as number;
      this.#labelsInOrder = out;
    }
    return this.#labelsInOrder;
  }

  labelAt(index: number): number {
    return this.#store.labels[this.#row(index)] as number;
  }

  /** The regression target of sample `index` (a regression data set only). */
  targetAt(index: number): number {
    return this.#targets()[this.#row(index)] as number;
  }

  /** Regression targets of indices[start..end) into `out` (length end − start). */
  gatherTargets(indices: ArrayLike<number>, start: number, end: number, out: Float32Array): void {
    const n = checkRange(indices, start, end, this.name);
    if (out.length !== n) throw new InternalError(`${this.name}: gatherTargets of ${n} samples needs out.length ${n}, got ${out.length}`);
    const targets = this.#targets();
    for (let i = 0; i < n; i++) out[i] = targets[this.#row(indices[start + i] as number)] as number;
  }

  /**
   * The samples indices[start..end) of this data set, normalised, row-major into `out`
   * (length (end − start) × featureSize): uint8 values become value × scale (value/255 by
   * default, through a 256-entry table), float32 values are multiplied by scale.
   */
  gatherInputs(indices: ArrayLike<number>, start: number, end: number, out: Float32Array): void {
    const n = checkRange(indices, start, end, this.name);
    const f = this.featureSize;
    if (out.length !== n * f) {
      throw new InternalError(`${this.name}: gatherInputs of ${n} samples × ${f} features needs out.length ${n * f}, got ${out.length}`);
    }
    const { features, lookup, scale } = this.#store;
    for (let i = 0; i < n; i++) {
      const from = this.#row(indices[start + i] as number) * f;
      const to = i * f;
      if (lookup !== undefined) {
        for (let k = 0; k < f; k++) out[to + k] = lookup[features[from + k] as number] as number;
      } else if (scale === 1) {
        out.set(features.subarray(from, from + f), to);
      } else {
        for (let k = 0; k < f; k++) out[to + k] = (features[from + k] as number) * scale;
      }
    }
  }

  /** One-hot targets of indices[start..end) into `out` (length (end − start) × classes); overwrites all of out. */
  gatherOneHot(indices: ArrayLike<number>, start: number, end: number, out: Float32Array): void {
    const n = checkRange(indices, start, end, this.name);
    const c = this.classes;
    if (out.length !== n * c) {
      throw new InternalError(`${this.name}: gatherOneHot of ${n} samples × ${c} classes needs out.length ${n * c}, got ${out.length}`);
    }
    out.fill(0);
    const labels = this.#store.labels;
    for (let i = 0; i < n; i++) out[i * c + (labels[this.#row(indices[start + i] as number)] as number)] = 1;
  }

  /**
   * The samples at `indices` (positions in this data set, repeats allowed) as a new data set over
   * the same shared memory. The index list itself goes into shared memory so it can travel too.
   */
  subset(indices: ArrayLike<number>): Dataset {
    const rows = allocShared('uint32', indices.length);
    for (let i = 0; i < indices.length; i++) rows[i] = this.#row(indices[i] as number);
    return new Dataset(this.#store, rows);
  }

  /** Samples [start, end) of this data set, in order. */
  slice(start: number, end: number): Dataset {
    if (!(Number.isInteger(start) && Number.isInteger(end) && start >= 0 && start <= end && end <= this.count)) {
      throw new DataError(this.name, `slice [${start}, ${end}) is not within the ${this.count} samples`, { hint: 'ask for a range of whole sample positions inside the data set' });
    }
    const indices = new Uint32Array(end - start);
    for (let i = 0; i < indices.length; i++) indices[i] = start + i;
    return this.subset(indices);
  }

  /**
   * Keras-style validation split (see Note [Validation split like Keras] in split.ts): the LAST
   * `validationFraction` of the samples, in stored order and before any shuffling, validate.
   */
  split(validationFraction: number): { readonly train: Dataset; readonly validation: Dataset } {
    if (!(validationFraction > 0 && validationFraction < 1)) {
      throw new ConfigError('validationSplit', `the fraction of ${this.name} to validate on must be in (0, 1)`, { value: validationFraction, hint: 'e.g. 0.1 holds out the last 10% of the samples' });
    }
    const at = validationSplitPoint(this.count, validationFraction);
    if (at === 0 || at === this.count) {
      const empty = at === 0 ? 'training' : 'validation';
      throw new DataError(this.name, `a validation split of ${validationFraction} of ${this.count} samples leaves no ${empty} samples`, {
        hint: 'choose a validationSplit that leaves at least one sample on each side, or use more data',
      });
    }
    return { train: this.slice(0, at), validation: this.slice(at, this.count) };
  }

  #targets(): Float32Array {
    const targets = this.#store.targets;
    if (targets === undefined) throw new InternalError(`${this.name}: a classification data set has no regression targets`);
    return targets;
  }

  /** Stored row of logical sample i; also the bounds check that keeps a bad index from reading NaN. */
  #row(i: number): number {
    if (!(Number.isInteger(i) && i >= 0 && i < this.count)) {
      throw new DataError(this.name, `sample index ${i} is not in 0..${this.count - 1}`);
    }
    return this.#rows === undefined ? i : (this.#rows[i] as number);
  }
}

function makeStore(
  name: string,
  sampleShape: Shape,
  classes: number,
  scale: number,
  features: FeatureArray,
  labels: LabelArray,
  targets?: Float32Array,
  classNames?: readonly string[],
): Store {
  let lookup: Float32Array | undefined;
  if (features instanceof Uint8Array) {
    // Rounded to float32 once per value, so gathering is a table read and value/255 is bit-exact.
    lookup = new Float32Array(256);
    for (let v = 0; v < 256; v++) lookup[v] = v * scale;
  }
  return { name, sampleShape, featureSize: sizeOf(sampleShape), classes, scale, features, labels, targets, classNames, lookup };
}

function checkRange(indices: ArrayLike<number>, start: number, end: number, name: string): number {
  if (!(Number.isInteger(start) && Number.isInteger(end) && start >= 0 && start <= end && end <= indices.length)) {
    throw new InternalError(`${name}: range [${start}, ${end}) is not within the ${indices.length} indices given`);
  }
  return end - start;
}
