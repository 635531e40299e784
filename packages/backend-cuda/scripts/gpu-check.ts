// The GPU check, bundled into one .mjs (build-gpu-check.mjs) and run by gpu-check.sh on a
// machine with a GPU: backend status, the execution conformance groups (library epilogues
// included), a ResNet-20 training-step benchmark (batch 128: forward, backward, SGD update),
// and the same step with CUDA graph capture off and on (graph-bench.ts). Prints one JSON object.
import { availableBackends, getBackend, setDefaultBackend, type Tensor } from '@resgrad/core';
import { loadCudaBackend, type CudaBackend } from '@resgrad/backend-cuda';
import { runConformance } from '../test/conformance.js';
import { benchGraphs } from './graph-bench.js';
import { resnet20Step } from './resnet-step.js';

const t0 = performance.now();
const secs = () => Number(((performance.now() - t0) / 1000).toFixed(1));
const result: Record<string, unknown> = { backends: availableBackends() };

function benchResnet20(batch: number, steps: number): Record<string, unknown> {
  setDefaultBackend('cuda');
  const { makeStep, x, y, lr, initial } = resnet20Step(batch);
  const step = makeStep();
  let s = initial();
  const c0 = performance.now();
  let out = step(s.params, s.state, s.optState, x, y, lr);
  const first = (out.loss as Tensor).data()[0];
  const compileS = (performance.now() - c0) / 1000;
  const times: number[] = [];
  const losses: number[] = [first!];
  for (let i = 0; i < steps; i++) {
    s = { params: out.params, state: out.state, optState: out.optState };
    const a = performance.now();
    out = step(s.params, s.state, s.optState, x, y, lr);
    losses.push((out.loss as Tensor).data()[0]!); // reading the loss synchronises
    times.push(performance.now() - a);
  }
  const sorted = [...times].sort((p, q) => p - q);
  const median = sorted[Math.floor(sorted.length / 2)]!;
  const be = getBackend('cuda') as CudaBackend;
  return {
    what: 'resnet20 train step', backend: 'cuda', batch, steps, firstCallS: Number(compileS.toFixed(2)),
    medianMs: Number(median.toFixed(2)), imagesPerSec: Math.round((batch * 1000) / median),
    lossFirst: losses[0], lossLast: losses[losses.length - 1], memoryInUseMiB: Math.round(be.memoryInUse() / 2 ** 20),
    // Graph use of this loop (it does not free old states: the garbage collector does, so
    // addresses repeat only by chance and capture may stop; graph-bench.ts frees them).
    graphs: { ...be.graphStats },
  };
}

const cuda = loadCudaBackend();
if ('unavailable' in cuda) {
  result.cuda = { available: false, reason: cuda.unavailable };
} else {
  const b = cuda as CudaBackend;
  result.cuda = {
    available: true, device: b.rt.device, target: b.target, nvrtc: b.rt.nvrtc.path, nvrtcVersion: b.rt.nvrtc.version(), cublas: b.rt.cublas?.path ?? null,
  };
  const only = process.env.RESGRAD_GPU_CHECK_ONLY ?? 'conformance,bench,graphs';
  if (only.includes('conformance')) {
    const groups = runConformance('cuda');
    result.conformance = groups.map((g) => ({ group: g.group, passed: g.passed, failed: g.failures.length, first: g.failures.slice(0, 5) }));
    result.conformanceS = secs();
  }
  if (only.includes('bench')) {
    try {
      result.bench = benchResnet20(Number(process.env.RESGRAD_BENCH_BATCH ?? 128), Number(process.env.RESGRAD_BENCH_STEPS ?? 20));
    } catch (e) {
      result.bench = { error: (e as Error).message.split('\n').slice(0, 8).join(' | ') };
    }
  }
  if (only.includes('graphs')) {
    try {
      result.graphs = benchGraphs(Number(process.env.RESGRAD_BENCH_BATCH ?? 128), Number(process.env.RESGRAD_GRAPH_STEPS ?? 20));
    } catch (e) {
      result.graphs = { error: (e as Error).message.split('\n').slice(0, 8).join(' | ') };
    }
    result.graphsS = secs();
  }
}
result.wallS = secs();
console.log(JSON.stringify(result));
