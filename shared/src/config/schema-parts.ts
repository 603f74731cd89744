import { z } from 'zod';

/**
 * Building blocks the config schemas share, so that a rule ("a positive integer", "an object that
 * rejects unknown keys and lists the known ones") is written once.
 */

/** Joins a message and its hint in a schema's `error` option; `schema-errors.ts` splits them again. */
export const HINT_SEPARATOR = '\u001f';

export function hinted(message: string, hint: string): string {
  return `${message}${HINT_SEPARATOR}${hint}`;
}

/**
 * An object of options: unknown keys are rejected (they are usually typos) and the error lists the
 * keys that are allowed.
 */
export function options<T extends z.core.$ZodLooseShape>(shape: T, what = 'an object') {
  const allowed = `allowed: ${Object.keys(shape).join(', ')}`;
  return z.strictObject(shape, {
    error: (issue) => {
      if (issue.code === 'unrecognized_keys') return hinted('is not a known option', allowed);
      if (issue.code === 'invalid_type' && issue.input !== undefined) return `must be ${what}`;
      return undefined;
    },
  });
}

/** A custom issue with a hint, for refinements. */
export function withHint(message: string, hint: string): { message: string } {
  return { message: hinted(message, hint) };
}

/**
 * A union of objects told apart by `key` (e.g. "type"); an unknown tag is "not a known `noun`" and
 * the error lists the known ones.
 */
export function tagged<K extends string, const T extends readonly [z.core.$ZodTypeDiscriminable, ...z.core.$ZodTypeDiscriminable[]]>(
  key: K,
  branches: T,
  noun: string,
  what: string,
) {
  return z.discriminatedUnion(key, branches, {
    error: (issue) => {
      if ((issue.code as string) === 'invalid_type') return `must be ${what}`;
      const input = issue.input as Record<string, unknown> | undefined;
      return input?.[key] === undefined ? undefined : `is not a known ${noun}`;
    },
  });
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
