import { InternalError, ShapeError } from '../errors.js';
import { formatShape, type Tensor } from '../tensor/tensor.js';

export interface ClassMetrics {
  readonly precision: number;
  readonly recall: number;
  readonly f1: number;
  /** Number of samples whose actual class is this one. */
  readonly support: number;
}

export interface ConfusionMatrixJson {
  readonly classes: number;
  readonly labels: readonly string[];
  /** counts[actual][predicted]. */
  readonly counts: readonly (readonly number[])[];
  readonly total: number;
  readonly accuracy: number;
  readonly macroF1: number;
  readonly perClass: readonly ClassMetrics[];
}

/**
 * A confusion matrix for single-label classification: rows are the ACTUAL class, columns the
 * PREDICTED one (scikit-learn's convention). Counts are integers, so matrices built on different
 * workers merge exactly by addition.
 *
 * Undefined ratios are 0, as scikit-learn's `zero_division=0`: precision of a class never
 * predicted, recall of a class with no support, F1 when precision + recall = 0, accuracy of an
 * empty matrix.
 */
export class ConfusionMatrix {
  readonly classes: number;
  readonly labels: readonly string[];
  readonly #counts: Float64Array;

  constructor(classes: number, labels?: readonly string[]) {
    if (!Number.isInteger(classes) || classes < 1) throw new InternalError(`ConfusionMatrix: classes must be a positive integer, got ${classes}`);
    if (labels !== undefined && labels.length !== classes) {
      throw new InternalError(`ConfusionMatrix: got ${labels.length} labels for ${classes} classes`);
    }
    this.classes = classes;
    this.labels = labels ? [...labels] : Array.from({ length: classes }, (_, i) => String(i));
    this.#counts = new Float64Array(classes * classes);
  }

  /** Records one sample. */
  add(predicted: number, actual: number): void {
    this.#check(predicted, 'predicted');
    this.#check(actual, 'actual');
    const i = actual * this.classes + predicted;
    this.#counts[i] = (this.#counts[i] as number) + 1;
  }

  /**
   * Records a batch: output [B, C] (scores or probabilities) and targets [B, C] (one-hot or a
   * distribution); each row's class is its argmax, the first on ties.
   */
  addBatch(output: Tensor, targets: Tensor): void {
    const c = this.classes;
    if (output.rank !== 2 || output.dim(1) !== c || targets.rank !== 2 || targets.dim(1) !== c || targets.dim(0) !== output.dim(0)) {
      throw new ShapeError(
        `ConfusionMatrix.addBatch: expected output and targets of shape [batch, ${c}], got ${formatShape(output.shape)} and ${formatShape(targets.shape)}`,
      );
    }
    for (let row = 0; row < output.dim(0); row++) {
      this.add(argmaxRow(output.data, row, c), argmaxRow(targets.data, row, c));
    }
  }

  /** Adds C × C counts (row = actual, column = predicted, row-major), e.g. summed by an evaluation pass. */
  addCounts(counts: ArrayLike<number>): void {
    if (counts.length !== this.#counts.length) throw new InternalError(`ConfusionMatrix.addCounts: ${counts.length} counts for ${this.classes} classes`);
    for (let i = 0; i < counts.length; i++) {
      const n = counts[i]!;
      if (!Number.isSafeInteger(n) || n < 0) throw new InternalError(`ConfusionMatrix.addCounts: count ${i} is ${n}, not a non-negative integer`);
      this.#counts[i] = (this.#counts[i] as number) + n;
    }
  }

  /** Adds another matrix's counts (e.g. from another worker). */
  merge(other: ConfusionMatrix): void {
    if (other.classes !== this.classes) throw new InternalError(`ConfusionMatrix.merge: ${other.classes} classes into ${this.classes}`);
    const theirs = other.#counts;
    for (let i = 0; i < this.#counts.length; i++) this.#counts[i] = (this.#counts[i] as number) + (theirs[i] as number);
  }

  count(actual: number, predicted: number): number {
    this.#check(predicted, 'predicted');
    this.#check(actual, 'actual');
    return this.#counts[actual * this.classes + predicted] as number;
  }

  get total(): number {
    let n = 0;
    for (const v of this.#counts) n += v;
    return n;
  }

  accuracy(): number {
    const total = this.total;
    return total === 0 ? 0 : this.#correct() / total;
  }

  perClass(): ClassMetrics[] {
    const c = this.classes;
    const result: ClassMetrics[] = [];
    for (let k = 0; k < c; k++) {
      let support = 0;
      let predicted = 0;
      for (let j = 0; j < c; j++) {
        support += this.#counts[k * c + j] as number;
        predicted += this.#counts[j * c + k] as number;
      }
      const tp = this.#counts[k * c + k] as number;
      const precision = predicted === 0 ? 0 : tp / predicted;
      const recall = support === 0 ? 0 : tp / support;
      const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
      result.push({ precision, recall, f1, support });
    }
    return result;
  }

  /**
   * Unweighted mean F1 over the classes that occur, as actual or predicted (scikit-learn's label
   * set when none is given): a class absent from both says nothing about the model and must not
   * drag the average to 0. An empty matrix gives 0.
   */
  macroF1(): number {
    const c = this.classes;
    let sum = 0;
    let present = 0;
    this.perClass().forEach((m, k) => {
      let predicted = 0;
      for (let j = 0; j < c; j++) predicted += this.#counts[j * c + k] as number;
      if (m.support === 0 && predicted === 0) return;
      sum += m.f1;
      present++;
    });
    return present === 0 ? 0 : sum / present;
  }

  toJSON(): ConfusionMatrixJson {
    const counts: number[][] = [];
    for (let a = 0; a < this.classes; a++) counts.push(Array.from(this.#counts.subarray(a * this.classes, (a + 1) * this.classes)));
    return {
      classes: this.classes,
      labels: this.labels,
      counts,
      total: this.total,
      accuracy: this.accuracy(),
      macroF1: this.macroF1(),
      perClass: this.perClass(),
    };
  }

  /**
   * A plain-text report: the matrix (rows actual, columns predicted) followed by per-class
   * precision, recall, F1 and support, then accuracy and macro F1. `classNames` (one per class) replace the
   * matrix's own labels, e.g. the names a CSV gave its classes.
   */
  format(classNames?: readonly string[]): string {
    const names = classNames !== undefined && classNames.length === this.classes ? classNames : this.labels;
    const c = this.classes;
    const json = this.toJSON();
    const labelWidth = Math.max('actual\\pred'.length, ...names.map((l) => l.length));
    const cellWidth = Math.max(5, ...names.map((l) => l.length), ...json.counts.flat().map((v) => String(v).length));
    const lines: string[] = [];
    lines.push(['actual\\pred'.padEnd(labelWidth), ...names.map((l) => l.padStart(cellWidth))].join(' '));
    for (let a = 0; a < c; a++) {
      lines.push([(names[a] as string).padEnd(labelWidth), ...(json.counts[a] as number[]).map((v) => String(v).padStart(cellWidth))].join(' '));
    }
    lines.push('');
    const head = ['class'.padEnd(labelWidth), 'precision', '   recall', '       f1', '  support'];
    lines.push(head.join(' '));
    json.perClass.forEach((m, k) => {
      lines.push(
        [
          (names[k] as string).padEnd(labelWidth),
          m.precision.toFixed(4).padStart(9),
          m.recall.toFixed(4).padStart(9),
          m.f1.toFixed(4).padStart(9),
          String(m.support).padStart(9),
        ].join(' '),
      );
    });
    lines.push('');
    lines.push(`accuracy ${json.accuracy.toFixed(4)} (${this.#correct()}/${json.total})   macro F1 ${json.macroF1.toFixed(4)}`);
    return lines.join('\n');
  }

  /** The diagonal: correctly classified samples. */
  #correct(): number {
    let correct = 0;
    for (let k = 0; k < this.classes; k++) correct += this.#counts[k * this.classes + k] as number;
    return correct;
  }

  #check(k: number, what: string): void {
    if (!Number.isInteger(k) || k < 0 || k >= this.classes) {
      throw new InternalError(`ConfusionMatrix: ${what} class ${k} is outside 0..${this.classes - 1}`);
    }
  }
}

function argmaxRow(data: Float32Array, row: number, width: number): number {
  const base = row * width;
  let best = 0;
  let bestValue = data[base] as number;
  for (let j = 1; j < width; j++) {
    const v = data[base + j] as number;
    if (v > bestValue) {
      best = j;
      bestValue = v;
    }
  }
  return best;
}
