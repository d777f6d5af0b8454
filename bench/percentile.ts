/** The `p`th percentile (0–100) of samples sorted in ascending order: the sample below which p% of them lie. */
export function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}
