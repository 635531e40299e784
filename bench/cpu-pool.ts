// The cost of reaching native code from JS and of a parallel region, for @resgrad/backend-cpu:
//   koffi_call_empty       a koffi call into an empty C function (no arguments)
//   koffi_call_16_args     a call with the 16 arguments of rg_sgemm (3 typed arrays), doing no work
//   pool_region_hot        an empty parallel-for over all threads, back to back (workers spinning)
//   pool_region_after_sleep an empty parallel-for after the workers went to sleep (gap > spin time)
// Usage: npm run bench -- cpu-pool [--repeats=N]
import { loadRuntime } from '@resgrad/backend-cpu';
import { median, perIterationMicros, round } from './lib/measure.js';
import { emit, numericFlags, printSummary } from './lib/report.js';

const flags = numericFlags(process.argv.slice(2), { repeats: 15 });
const rt = loadRuntime();
const f = rt.fns;
const backend = 'cpu';
const threads = rt.threads;

const n = 200_000;
const call = perIterationMicros(() => f.rg_noop(), { n, warmup: 3, repeats: flags.repeats });
emit({ bench: 'koffi_call_empty', backend, value: round(call.median), unit: 'us', min: round(call.min), calls: n });

const a = new Float32Array(16);
const args = perIterationMicros(() => f.rg_sgemm(1, 0, 0, 0, a, 1, 0, 0, a, 1, 0, 0, a, 1, 0, 0), { n: n / 4, warmup: 3, repeats: flags.repeats });
emit({ bench: 'koffi_call_16_args', backend, value: round(args.median), unit: 'us', min: round(args.min), calls: n / 4 });

const hot = perIterationMicros(() => f.rg_empty_region(threads), { n: n / 4, warmup: 3, repeats: flags.repeats });
emit({ bench: 'pool_region_hot', backend, value: round(hot.median), unit: 'us', min: round(hot.min), threads });

// Sleep well past the spin time (RESGRAD_SPIN_US, default 2000 us) so every worker is
// parked on its condition variable, then time one region: the wake-up latency.
const gap = new Int32Array(new SharedArrayBuffer(4));
const cold: number[] = [];
for (let i = 0; i < flags.repeats * 2; i++) {
  Atomics.wait(gap, 0, 0, 20);
  const asleep = f.rg_pool_sleepers();
  const t0 = performance.now();
  f.rg_empty_region(threads);
  const us = (performance.now() - t0) * 1000;
  if (asleep === threads - 1) cold.push(us);
}
if (cold.length > 0)
  emit({ bench: 'pool_region_after_sleep', backend, value: round(median(cold)), unit: 'us', min: round(Math.min(...cold)), threads, samples: cold.length, gap_ms: 20 });
printSummary(`cpu-pool (${threads} threads)`);
