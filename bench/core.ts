// Core overheads (issue 2, "Benchmarks"): what resgrad itself costs around the math.
//   a) eager dispatch per tiny op         aim: small next to any real kernel
//   b) jit cache hit: whole call, and the part that is not the executable's own run
//                                          aim: under 50 us
//   c) trace + optimise + compile of a 56-layer conv/BN/ReLU stack with its gradient
//                                          aim: under 1 s
// Usage: npm run bench -- core [--depth=56] [--batch=2] [--repeats=7]
// Uses only the public API, so it measures whatever the backend's compile does today.
import {
  add,
  defaultBackend,
  Graph,
  jit,
  makeGraph,
  mul,
  optimizeGraph,
  tensor,
  valueAndGrad,
  type Backend,
  type Tensor,
  type Var,
} from '@resgrad/core';
import { initStack, stackLoss, type StackConfig } from './lib/conv-bn-stack.js';
import { now, perIterationMicros, round, summarize, timeRuns } from './lib/measure.js';
import { emit, numericFlags, printSummary } from './lib/report.js';

const flags = numericFlags(process.argv.slice(2), { depth: 56, batch: 2, repeats: 7 });
const backend = defaultBackend();
const repeats = flags.repeats;

function eagerDispatch(): void {
  for (const n of [1, 4]) {
    const a = tensor(Array.from({ length: n }, (_, i) => i + 1));
    const b = tensor(Array.from({ length: n }, () => 0.5));
    const iters = 20_000;
    // Results are dropped, as in user code: their buffers go back through the finaliser.
    const r = perIterationMicros(() => void add(a, b), { n: iters, warmup: 5, repeats });
    emit(
      { bench: 'eager_add', backend: backend.name, value: round(r.median), unit: 'us/op', shape: [n], iters, repeats, min: round(r.min), max: round(r.max) },
      `add of two [${n}] tensors`,
    );
  }
}

/**
 * The graph a backend can compile directly: jit keeps outputs that are inputs, consts or
 * repeats out of the executable; the same filter here lets us time `compile` on its own.
 */
function executableGraph(g: Graph): Graph {
  const produced = new Set(g.eqns.map((e) => e.out));
  const outs: Var[] = [];
  for (const v of g.outputs) if (produced.has(v) && !outs.includes(v)) outs.push(v);
  return new Graph(g.inputs, g.consts, g.constValues, g.eqns, outs);
}

function bufferOf(b: Backend, t: Tensor) {
  return b.upload(t.data(), t.dtype);
}

function jitCacheHit(): void {
  const n = 4;
  const x = tensor([1, 2, 3, 4]);
  const y = tensor([0.5, 0.5, 0.5, 0.5]);
  const f = jit((p: Tensor, q: Tensor) => add(mul(p, q), p));
  f(x, y); // the one miss: trace and compile
  const iters = 20_000;
  const call = perIterationMicros(() => void f(x, y), { n: iters, warmup: 5, repeats });
  // The executable's own run time: the same lowered graph compiled and run on raw buffers,
  // without jit's signature check, tree handling and tensor wrapping.
  const exe = backend.compile(executableGraph(f.lower(x, y)));
  const bufs = [bufferOf(backend, x), bufferOf(backend, y)];
  const run = perIterationMicros(() => void exe.run(bufs), { n: iters, warmup: 5, repeats });
  const dispatch = call.median - run.median;
  const common = { backend: backend.name, shape: [n], ops: 2, iters, repeats };
  emit({ bench: 'jit_hit_call', value: round(call.median), unit: 'us/call', ...common, min: round(call.min), max: round(call.max) }, 'whole call of a jitted add(mul(x, y), x)');
  emit({ bench: 'jit_hit_exe_run', value: round(run.median), unit: 'us/call', ...common }, "the executable's own run");
  emit(
    { bench: 'jit_hit_dispatch', value: round(dispatch), unit: 'us/call', ...common, aim: 50 },
    `call minus run (aim < 50 us): ${dispatch < 50 ? 'met' : 'NOT met'}`,
  );
}

function traceAndCompile(): void {
  const cfg: StackConfig = { depth: flags.depth, batch: flags.batch, channels: 16, size: 8 };
  const { params, x } = initStack(cfg);
  const vg = valueAndGrad(stackLoss);
  const shapes = { depth: cfg.depth, input: [cfg.batch, cfg.channels, cfg.size, cfg.size], weight: [cfg.channels, cfg.channels, 3, 3] };
  const common = { backend: backend.name, ...shapes, repeats };
  // Graphs of thousands of equations keep V8 optimising for several runs: warm up longer, and
  // report the first run of each stage beside the median.
  const opts = { warmup: 5, repeats };

  // Each stage alone. Tracing includes the AD transform: valueAndGrad traces the loss and
  // replays it with the VJP rules into the outer (makeGraph) trace.
  let traced: Graph | undefined;
  const trace = timeRuns(() => void (traced = makeGraph(vg)(params, x)), opts);
  let optimized: Graph | undefined;
  const optimize = timeRuns(() => void (optimized = optimizeGraph(traced!)), opts);
  const exeGraph = executableGraph(optimized!);
  const compile = timeRuns(() => backend.compile(exeGraph).dispose(), opts);
  const eqns = { eqnsTraced: traced!.eqns.length, eqnsOptimized: optimized!.eqns.length };
  const cold = (r: { cold?: number }) => ({ firstRunMs: round(r.cold ?? NaN) });
  emit({ bench: 'stack_trace', value: round(trace.median), unit: 'ms', ...common, ...cold(trace), ...eqns }, `makeGraph(valueAndGrad(loss)), ${eqns.eqnsTraced} eqns; first run ${round(trace.cold!)} ms`);
  emit({ bench: 'stack_optimize', value: round(optimize.median), unit: 'ms', ...common, ...cold(optimize), ...eqns }, `optimizeGraph -> ${eqns.eqnsOptimized} eqns; first run ${round(optimize.cold!)} ms`);
  emit({ bench: 'stack_compile', value: round(compile.median), unit: 'ms', ...common, ...cold(compile), ...eqns }, `${backend.name} backend.compile; first run ${round(compile.cold!)} ms`);

  // All three through jit, as a user meets them: a fresh jit per run so every run misses.
  const lower = timeRuns(() => void jit(vg).lower(params, x), opts);
  emit(
    { bench: 'stack_lower', value: round(lower.median), unit: 'ms', ...common, ...cold(lower), aim: 1000 },
    `jit(valueAndGrad(loss)).lower = trace + optimise + compile; first run ${round(lower.cold!)} ms (aim < 1000 ms: ${Math.max(lower.median, lower.cold!) < 1000 ? 'met' : 'NOT met'})`,
  );

  firstMinusLater({ ...cfg, batch: 1, size: 4 });
}

/**
 * First call minus a later call: what the first step of training pays on top of a step,
 * including anything a backend defers to its first run. On the reference backend a step of
 * the [2, 16, 8, 8] stack runs for seconds and varies by more than compiling costs, so this
 * cross-check uses a smaller image (same graph, same equation count, 8x less arithmetic)
 * and takes the median of per-pair differences.
 */
function firstMinusLater(cfg: StackConfig): void {
  const { params, x } = initStack(cfg);
  const vg = valueAndGrad(stackLoss);
  const common = { backend: backend.name, depth: cfg.depth, input: [cfg.batch, cfg.channels, cfg.size, cfg.size] };
  const firsts: number[] = [];
  const laters: number[] = [];
  const pairs = Math.max(3, repeats);
  jit(vg)(params, x); // warm V8 up on this path once
  for (let r = 0; r < pairs; r++) {
    const step = jit(vg);
    let t0 = now();
    step(params, x);
    firsts.push(now() - t0);
    // A single later call is noisy, so "later" is the faster of two cache hits.
    const hits = [0, 1].map(() => {
      t0 = now();
      step(params, x);
      return now() - t0;
    });
    laters.push(Math.min(...hits));
  }
  const first = summarize(firsts);
  const later = summarize(laters);
  const diff = summarize(firsts.map((f, i) => f - laters[i]!));
  emit({ bench: 'stack_first_call', value: round(first.median), unit: 'ms', ...common, repeats: pairs }, 'first call (trace + compile + run)');
  emit({ bench: 'stack_later_call', value: round(later.median), unit: 'ms', ...common, repeats: pairs }, 'later call (run)');
  emit(
    { bench: 'stack_first_minus_later', value: round(diff.median), unit: 'ms', ...common, repeats: pairs, min: round(diff.min), max: round(diff.max) },
    `first call minus a later call, input [${common.input.join(', ')}]`,
  );
}

eagerDispatch();
jitCacheHit();
traceAndCompile();
printSummary(`resgrad core overheads, backend '${backend.name}', node ${process.version} (medians of ${repeats} runs after warm-up)`);
