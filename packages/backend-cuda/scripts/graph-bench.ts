// CUDA Graphs on a jitted ResNet-20 step, for the GPU check: the same steps from the same
// initial state, once with capture off (RESGRAD_CUDA_GRAPHS=0: kernel by kernel) and once on,
// in one process. The switch is read when an executable is compiled, so each mode jits a fresh
// step. Reports whether losses and final parameters are bit-identical (they should be: the
// same kernels run in the same order on one stream either way), the median step time of each,
// and the graph counters (captures, updates, replays, direct runs, failures).
//
// The loop frees each state once the step after it has run, as a training loop with
// `dispose()` or `using` does: outputs then get the addresses they had two steps before, the
// external pointers repeat, and the captured graphs replay. Not yet run on a GPU.
import { getBackend, setDefaultBackend, type Tensor, treeFlatten } from '@resgrad/core';
import type { CudaBackend, GraphStats } from '@resgrad/backend-cuda';
import { disposeStale, resnet20Step, type StepState } from './resnet-step.js';

const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)]! : NaN;
};
const round = (x: number, d = 2) => Number(x.toFixed(d));

/** One mode: `steps` steps; the losses, the final parameters, the times and the graph counters. */
function runMode(graphs: boolean, batch: number, steps: number) {
  process.env.RESGRAD_CUDA_GRAPHS = graphs ? '1' : '0';
  const be = getBackend('cuda') as CudaBackend;
  const before: GraphStats = { ...be.graphStats };
  const { makeStep, x, y, lr, initial } = resnet20Step(batch);
  const step = makeStep();
  const start = initial();
  let s: StepState = start;
  const losses: number[] = [];
  const times: number[] = [];
  for (let i = 0; i < steps; i++) {
    const t0 = performance.now();
    const out = step(s.params, s.state, s.optState, x, y, lr);
    losses.push(out.loss.data()[0]!); // reading the loss waits for the step
    times.push(performance.now() - t0);
    out.loss.dispose();
    const next: StepState = { params: out.params, state: out.state, optState: out.optState };
    if (s !== start) disposeStale(s, next);
    s = next;
  }
  const params = treeFlatten(s.params).leaves.map((t: Tensor) => t.data());
  const after = be.graphStats;
  const stats = {
    direct: after.direct - before.direct, captures: after.captures - before.captures, updates: after.updates - before.updates,
    replays: after.replays - before.replays, failures: after.failures - before.failures, lastFailure: after.lastFailure ?? null,
  };
  return { losses, times, params, stats };
}

/** The comparison as one JSON-ready object. */
export function benchGraphs(batch: number, steps: number): Record<string, unknown> {
  setDefaultBackend('cuda');
  const saved = process.env.RESGRAD_CUDA_GRAPHS;
  try {
    const off = runMode(false, batch, steps);
    const on = runMode(true, batch, steps);
    let maxAbsDiff = 0;
    let differing = 0;
    off.params.forEach((p, i) => {
      const q = on.params[i]!;
      for (let j = 0; j < p.length; j++) {
        if (Object.is(p[j], q[j])) continue;
        differing++;
        maxAbsDiff = Math.max(maxAbsDiff, Math.abs(p[j]! - q[j]!));
      }
    });
    // Steps 0 (compile) and, with graphs, 1-2 (captures) are not steady state.
    const offMs = median(off.times.slice(3));
    const onMs = median(on.times.slice(3));
    return {
      what: 'resnet20 train step, CUDA graphs off vs on', batch, steps,
      lossesBitEqual: off.losses.every((l, i) => Object.is(l, on.losses[i])),
      paramsBitEqual: differing === 0, paramsDiffering: differing, maxAbsParamDiff: maxAbsDiff,
      lossFirst: off.losses[0], lossLast: [off.losses[off.losses.length - 1], on.losses[on.losses.length - 1]],
      off: { medianMs: round(offMs), firstCallMs: round(off.times[0]!, 0), graphs: off.stats },
      on: { medianMs: round(onMs), firstCallMs: round(on.times[0]!, 0), captureStepsMs: on.times.slice(1, 3).map((t) => round(t)), graphs: on.stats },
      speedup: round(offMs / onMs, 3),
    };
  } finally {
    if (saved === undefined) delete process.env.RESGRAD_CUDA_GRAPHS;
    else process.env.RESGRAD_CUDA_GRAPHS = saved;
  }
}
