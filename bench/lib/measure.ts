// Timing helpers shared by the benchmarks. Every figure a benchmark reports is a median over
// several runs taken after warm-up runs, so one GC pause or a V8 tier-up does not decide it.

/** Milliseconds since an arbitrary origin, sub-millisecond resolution. */
export const now = (): number => performance.now();

export function median(xs: readonly number[]): number {
  if (xs.length === 0) throw new Error('median of no values');
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export interface Runs {
  /** Wall time of each timed run, in milliseconds (warm-up runs excluded). */
  readonly times: number[];
  readonly median: number;
  readonly min: number;
  readonly max: number;
  /** The first warm-up run: what a fresh process pays (V8 has not optimised the code yet). */
  readonly cold?: number;
}

export function summarize(times: number[]): Runs {
  return { times, median: median(times), min: Math.min(...times), max: Math.max(...times) };
}

/** Runs `fn` `warmup` times untimed, then `repeats` times timed. */
export function timeRuns(fn: () => void, { warmup, repeats }: { warmup: number; repeats: number }): Runs {
  let cold: number | undefined;
  for (let i = 0; i < warmup; i++) {
    const t0 = now();
    fn();
    if (i === 0) cold = now() - t0;
  }
  const times: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const t0 = now();
    fn();
    times.push(now() - t0);
  }
  return { ...summarize(times), cold };
}

/** As {@link timeRuns} for work that completes asynchronously (a GPU submission read back). */
export async function timeRunsAsync(
  fn: () => unknown | Promise<unknown>,
  { warmup, repeats }: { warmup: number; repeats: number },
): Promise<Runs> {
  let cold: number | undefined;
  for (let i = 0; i < warmup; i++) {
    const t0 = now();
    await fn();
    if (i === 0) cold = now() - t0;
  }
  const times: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const t0 = now();
    await fn();
    times.push(now() - t0);
  }
  return { ...summarize(times), cold };
}

/**
 * Microseconds per iteration of `body`, as the median over `repeats` runs of `n` iterations
 * each (after `warmup` such runs): loops amortise the timer's own cost for sub-microsecond work.
 */
export function perIterationMicros(
  body: (i: number) => void,
  { n, warmup, repeats }: { n: number; warmup: number; repeats: number },
): Runs {
  const runs = timeRuns(() => {
    for (let i = 0; i < n; i++) body(i);
  }, { warmup, repeats });
  return summarize(runs.times.map((ms) => (ms * 1000) / n));
}

/** Rounds for printing and JSON: 3 significant digits is all a timing deserves. */
export const round = (x: number): number => Number(x.toPrecision(3));
