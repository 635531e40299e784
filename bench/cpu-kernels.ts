// Library-kernel throughput of @resgrad/backend-cpu, against the machine's measured peak:
//   fma_peak              a register-only FMA loop (src/kernels/peak.c), one thread and all threads
//   sgemm_1024            C = A B, 1024^3 float32, one thread and all threads, with its share of the peak
//   conv_fwd / conv_dgrad / conv_wgrad   each ResNet-20 convolution shape at batch 128
// Every value is the median of the timed runs after warm-up. Usage:
//   npm run bench -- cpu-kernels [--repeats=N] [--batch=N]
import { conv2d, conv2dInputGrad, conv2dWeightGrad, gemm, loadRuntime } from '@resgrad/backend-cpu';
import type { ConvParams } from '@resgrad/core';
import { round, timeRuns } from './lib/measure.js';
import { emit, numericFlags, printSummary } from './lib/report.js';

const flags = numericFlags(process.argv.slice(2), { repeats: 7, batch: 128 });
const rt = loadRuntime();
const f = rt.fns;
const backend = 'cpu';
const kernel = f.rg_gemm_kernel_name();
const isa = kernel.startsWith('avx512') ? 2 : kernel.startsWith('avx2') ? 1 : 0;
const gflops = (flop: number, ms: number) => flop / (ms * 1e6);

function peak(allThreads: boolean): number {
  const iters = 20_000_000;
  let flop = 0;
  const runs = timeRuns(() => (flop = f.rg_fma_peak(isa, iters, allThreads ? 1 : 0)), { warmup: 1, repeats: flags.repeats });
  const value = gflops(flop, runs.median);
  emit({ bench: allThreads ? 'fma_peak_all_cores' : 'fma_peak_1_core', backend, value: round(value), unit: 'GFLOP/s', best: round(gflops(flop, runs.min)), threads: allThreads ? rt.threads : 1, isa: ['portable', 'avx2', 'avx512'][isa] });
  return value;
}

function sgemm(threads: number, peakValue: number): void {
  f.rg_pool_init(threads, -1);
  const n = 1024;
  const a = Float32Array.from({ length: n * n }, (_, i) => ((i * 7) % 13) / 13 - 0.5);
  const b = Float32Array.from({ length: n * n }, (_, i) => ((i * 5) % 11) / 11 - 0.5);
  const c = new Float32Array(n * n);
  const runs = timeRuns(() => gemm({ M: n, N: n, K: n, a, b, c }), { warmup: 2, repeats: flags.repeats });
  const value = gflops(2 * n ** 3, runs.median);
  const share = round(value / peakValue);
  emit({ bench: threads === 1 ? 'sgemm_1024_1_core' : 'sgemm_1024_all_cores', backend, value: round(value), unit: 'GFLOP/s', best: round(gflops(2 * n ** 3, runs.min)), share_of_peak: share, M: n, N: n, K: n, threads, kernel }, `${Math.round(share * 100)} % of the measured peak`);
}

const p1 = peak(false);
const pall = peak(true);
sgemm(1, p1);
if (rt.threads > 1) sgemm(rt.threads, pall);
f.rg_pool_init(rt.threads, -1);

// ResNet-20 (option A shortcuts: no 1x1 projections) has six distinct 3x3 convolutions.
const B = flags.batch;
const shapes: { name: string; x: number[]; w: number[]; stride: number }[] = [
  { name: 'conv1_3to16_32px', x: [B, 3, 32, 32], w: [16, 3, 3, 3], stride: 1 },
  { name: 'stage1_16to16_32px', x: [B, 16, 32, 32], w: [16, 16, 3, 3], stride: 1 },
  { name: 'stage2_16to32_s2', x: [B, 16, 32, 32], w: [32, 16, 3, 3], stride: 2 },
  { name: 'stage2_32to32_16px', x: [B, 32, 16, 16], w: [32, 32, 3, 3], stride: 1 },
  { name: 'stage3_32to64_s2', x: [B, 32, 16, 16], w: [64, 32, 3, 3], stride: 2 },
  { name: 'stage3_64to64_8px', x: [B, 64, 8, 8], w: [64, 64, 3, 3], stride: 1 },
];
const size = (s: readonly number[]) => s.reduce((p, d) => p * d, 1);
const rand = (n: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898) * 0.5);

for (const s of shapes) {
  const p: ConvParams = { stride: [s.stride, s.stride], padding: [[1, 1], [1, 1]], dilation: [1, 1], groups: 1 };
  const x = rand(size(s.x));
  const w = rand(size(s.w));
  const y = conv2d(x, s.x, w, s.w, p);
  const dy = rand(y.data.length);
  // Multiply-adds of the convolution sum, counted twice; the same for all three.
  const flop = 2 * size(y.shape) * s.w[1]! * s.w[2]! * s.w[3]!;
  const cases = [
    ['conv_fwd', () => conv2d(x, s.x, w, s.w, p)],
    ['conv_dgrad', () => conv2dInputGrad(dy, y.shape, w, s.w, p, s.x)],
    ['conv_wgrad', () => conv2dWeightGrad(x, s.x, dy, y.shape, p, s.w)],
  ] as const;
  for (const [bench, run] of cases) {
    const r = timeRuns(run, { warmup: 2, repeats: flags.repeats });
    const value = round(gflops(flop, r.median));
    emit({ bench, backend, value, unit: 'GFLOP/s', ms: round(r.median), shape: s.name, x: s.x, w: s.w, stride: s.stride, threads: rt.threads, share_of_peak: round(value / pall) }, `${s.name} (${round(r.median)} ms)`);
  }
}
printSummary(`cpu-kernels (${rt.threads} threads, ${kernel})`);
