/**
 * `--quiet` for the commands that train (train, launch, coordinator, worker): no progress lines (within and per
 * epoch, checkpoints), no start banner or model summary and no confusion matrix. What still prints: errors,
 * warnings (a skipped step), the cluster's membership and fault events, and the final result line.
 */
export const QUIET_OPTION = { quiet: { type: 'boolean' } } as const;

export function quietUsage(pad: number): string {
  return `  ${'--quiet'.padEnd(pad - 2)} no progress lines, banner or confusion matrix; errors, warnings and the result line still print`;
}

export function isQuiet(values: Record<string, unknown>): boolean {
  return values['quiet'] === true;
}
