/** What a schedule may look at besides the step. */
export interface ScheduleContext {
  /** Set by the training loop once the training error has dropped below the warm-up threshold. */
  warmupDone?: boolean;
}

/** The learning rate at a step (0-based count of updates done). */
export type Schedule = (step: number, context?: ScheduleContext) => number;

const checkStep = (name: string, step: number) => {
  if (!(Number.isInteger(step) && step >= 0)) throw new Error(`${name}: step must be a non-negative integer, got ${step}`);
};

/**
 * values[0] before boundaries[0], values[i] from boundaries[i-1] on.
 *
 * @example
 * ```ts
 * const s = piecewiseConstant([32000, 48000], [0.1, 0.01, 0.001]);
 * s(31999); // 0.1
 * s(32000); // 0.01
 * ```
 */
export function piecewiseConstant(boundaries: readonly number[], values: readonly number[]): Schedule {
  if (values.length !== boundaries.length + 1)
    throw new Error(`piecewiseConstant: expected ${boundaries.length + 1} values for ${boundaries.length} boundaries, got ${values.length}`);
  if (boundaries.some((b, i) => i > 0 && b <= boundaries[i - 1]!)) throw new Error('piecewiseConstant: boundaries must increase');
  return (step) => {
    checkStep('piecewiseConstant', step);
    let i = 0;
    while (i < boundaries.length && step >= boundaries[i]!) i++;
    return values[i]!;
  };
}

/**
 * The paper's CIFAR-10 schedule: 0.1, divided by 10 at 32k and 48k iterations (training stops
 * at 64k). `scale` shortens it proportionally for shorter runs (boundaries x scale).
 */
export function paperSchedule(options: { base?: number; boundaries?: readonly number[]; factor?: number; scale?: number } = {}): Schedule {
  const base = options.base ?? 0.1;
  const factor = options.factor ?? 0.1;
  const scale = options.scale ?? 1;
  if (!(scale > 0)) throw new Error(`paperSchedule: scale must be positive, got ${scale}`);
  // Scaled boundaries stay at least 1 and strictly increasing, so a very short run still gets
  // every stage (a tiny scale would otherwise round both boundaries to the same step).
  const bounds: number[] = [];
  for (const b of options.boundaries ?? [32000, 48000]) bounds.push(Math.max(bounds.length ? bounds[bounds.length - 1]! + 1 : 1, Math.round(b * scale)));
  // base * factor^i, rounded to 12 significant digits so 0.1 * 0.1 is 0.01 and not 0.010000000000000002.
  const values = [base, ...bounds.map((_, i) => Number((base * factor ** (i + 1)).toPrecision(12)))];
  return piecewiseConstant(bounds, values);
}

/**
 * The paper's ResNet-110 warm-up: 0.01 until the training error is below 80 % (the loop sets
 * `context.warmupDone`), then `after` — about 400 iterations in the paper.
 */
export function errorWarmup(after: Schedule, options: { lr?: number; threshold?: number } = {}): Schedule & { threshold: number } {
  const lr = options.lr ?? 0.01;
  const s = ((step: number, context?: ScheduleContext) => (context?.warmupDone ? after(step, context) : lr)) as Schedule & { threshold: number };
  s.threshold = options.threshold ?? 0.8;
  return s;
}

/** Linear ramp from `start` to `after(warmupSteps)` over the first `warmupSteps` steps, then `after`. */
export function linearWarmup(warmupSteps: number, after: Schedule, start = 0): Schedule {
  if (!(Number.isInteger(warmupSteps) && warmupSteps >= 0)) throw new Error(`linearWarmup: warmupSteps must be a non-negative integer, got ${warmupSteps}`);
  return (step, context) => {
    checkStep('linearWarmup', step);
    if (step >= warmupSteps) return after(step, context);
    const target = after(warmupSteps, context);
    return start + ((target - start) * step) / warmupSteps;
  };
}

/** Cosine decay from `base` to `final` over `totalSteps` (constant at `final` afterwards). */
export function cosine(options: { base: number; totalSteps: number; final?: number }): Schedule {
  const { base, totalSteps } = options;
  const final = options.final ?? 0;
  if (!(totalSteps > 0)) throw new Error(`cosine: totalSteps must be positive, got ${totalSteps}`);
  return (step) => {
    checkStep('cosine', step);
    const t = Math.min(step, totalSteps) / totalSteps;
    return final + ((base - final) * (1 + Math.cos(Math.PI * t))) / 2;
  };
}

/**
 * One-cycle (Smith & Topin, 2017), as PyTorch's OneCycleLR with cosine annealing: from
 * maxLr/divFactor up to maxLr over pctStart of the steps, then down to
 * maxLr/(divFactor*finalDivFactor).
 */
export function oneCycle(options: { maxLr: number; totalSteps: number; pctStart?: number; divFactor?: number; finalDivFactor?: number }): Schedule {
  const { maxLr, totalSteps } = options;
  const pct = options.pctStart ?? 0.3;
  const initial = maxLr / (options.divFactor ?? 25);
  const min = initial / (options.finalDivFactor ?? 1e4);
  const up = Math.max(1, Math.round(pct * totalSteps) - 1);
  const down = Math.max(1, totalSteps - 1 - up);
  const anneal = (a: number, b: number, t: number) => b + ((a - b) * (1 + Math.cos(Math.PI * t))) / 2;
  return (step) => {
    checkStep('oneCycle', step);
    if (step <= up) return anneal(initial, maxLr, step / up);
    return anneal(maxLr, min, Math.min(1, (step - up) / down));
  };
}
