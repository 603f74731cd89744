/**
 * "Did you mean …?" for a misspelt name (a config key, a layer type, a loss): the known name closest
 * to it by edit distance, when it is close enough to be a typo rather than a different word.
 *
 * Note [typo distance]: a name counts as a typo of a known one within max(1, ⌊length/3⌋) edits
 * (insertions, deletions, substitutions, and a swap of two neighbours as one edit), compared without
 * case: "dens" → "dense", "trainig" → "training", "softmaxCrossEntropi" → "softmaxCrossEntropy",
 * "batchsize" → "batchSize"; "foo" suggests nothing.
 */
export function closestName(name: string, known: readonly string[]): string | undefined {
  const wanted = name.toLowerCase();
  let best: string | undefined;
  let bestDistance = Math.max(1, Math.floor(wanted.length / 3)) + 1;
  for (const candidate of known) {
    const d = editDistance(wanted, candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best === name ? undefined : best;
}

/** `did you mean "x"?`, or undefined when no known name is close. */
export function didYouMean(name: string, known: readonly string[]): string | undefined {
  const best = closestName(name, known);
  return best === undefined ? undefined : `did you mean ${JSON.stringify(best)}?`;
}

/** Optimal string alignment distance (Damerau–Levenshtein without repeated edits of one substring). */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1, cols = b.length + 1;
  const d: number[] = new Array<number>(rows * cols).fill(0);
  for (let i = 0; i < rows; i++) d[i * cols] = i;
  for (let j = 0; j < cols; j++) d[j] = j;
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[(i - 1) * cols + j]! + 1, d[i * cols + j - 1]! + 1, d[(i - 1) * cols + j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[(i - 2) * cols + j - 2]! + 1);
      d[i * cols + j] = v;
    }
  }
  return d[rows * cols - 1]!;
}
