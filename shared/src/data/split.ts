/**
 * Note [Validation split like Keras]: `fit(validationSplit: f)` in Keras holds out the LAST
 * fraction f of the training data, taken in file order BEFORE any shuffling: the split point is
 * floor(count × (1 − f)), rows [0, splitAt) train and rows [splitAt, count) validate. We do the
 * same so a config ported from Keras evaluates on the same samples. The validation rows are then
 * fixed for the whole run; only the training rows are reshuffled each epoch.
 */
import { InternalError } from '../errors.js';

/** The first validation row; rows before it train. Pure, so callers and tests agree on it. */
export function validationSplitPoint(count: number, validationFraction: number): number {
  if (!Number.isInteger(count) || count < 0) throw new InternalError(`validationSplitPoint: count must be an integer ≥ 0, got ${count}`);
  if (!(validationFraction > 0 && validationFraction < 1)) {
    throw new InternalError(`validationSplitPoint: validationFraction must be in (0, 1), got ${validationFraction}`);
  }
  return Math.floor(count * (1 - validationFraction));
}
