import { GradmeshError, PreflightError } from '../errors.js';

/**
 * Collects the problems the preflight checks find, so that all of them are reported together
 * (Note [all problems at once] in config/schema-errors.ts). A check that throws a user-input error
 * (a GradmeshError) adds it, and one whose own problems were several adds each; anything else (a bug)
 * propagates at once.
 */
export class Problems {
  readonly #found: GradmeshError[] = [];

  add(problem: GradmeshError): void {
    if (problem instanceof PreflightError) for (const p of problem.problems) this.add(p);
    else if (!this.#found.some((p) => p.message === problem.message)) this.#found.push(problem);
  }

  /** Runs `check`; its user-input error becomes a problem and `undefined` is returned. */
  check<T>(check: () => T): T | undefined {
    try {
      return check();
    } catch (error) {
      if (!(error instanceof GradmeshError) || error.code === 'E_INTERNAL' || error.code === 'E_CLUSTER') throw error;
      this.add(error);
      return undefined;
    }
  }

  get count(): number {
    return this.#found.length;
  }

  /** Throws the one problem as itself, several as a PreflightError; nothing when none was found. */
  throwIfAny(): void {
    if (this.#found.length === 1) throw this.#found[0]!;
    if (this.#found.length > 1) throw new PreflightError(this.#found);
  }
}
