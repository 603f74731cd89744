import { z } from 'zod';

/**
 * Building blocks the config schemas share, so that a rule ("a positive integer", "an object that
 * rejects unknown keys and lists the known ones") is written once.
 */

/**
 * An object of options: unknown keys are rejected (they are usually typos) and the error lists the
 * keys that are allowed, which `schema-errors.ts` shows as the hint.
 */
export function options<T extends z.core.$ZodLooseShape>(shape: T) {
  const allowed = `allowed: ${Object.keys(shape).join(', ')}`;
  return z.strictObject(shape, { error: (issue) => (issue.code === 'unrecognized_keys' ? allowed : undefined) });
}

/** A message with a hint, for a custom issue raised by a refinement. */
export function withHint(message: string, hint: string): { message: string; params: { hint: string } } {
  return { message, params: { hint } };
}

export const positiveInt = () => z.int().min(1);
export const nonNegativeInt = () => z.int().min(0);
export const positive = () => z.number().gt(0);
export const nonNegative = () => z.number().min(0);
export const fraction = () => z.number().min(0).max(1);
export const nonEmptyString = () => z.string().min(1);

/** A positive integer or a pair [h, w] of them (window sizes, strides). */
export const intPair = () =>
  z.union([positiveInt(), z.tuple([positiveInt(), positiveInt()])], { error: 'must be a positive integer or a pair [h, w] of them' });

/** A non-empty array of positive integers (a per-sample shape). */
export const shape = () => z.array(positiveInt(), { error: 'must be a non-empty array of positive integers' }).min(1, { error: 'must be a non-empty array of positive integers' });
