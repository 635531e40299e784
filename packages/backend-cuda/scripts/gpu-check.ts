// The GPU check, bundled into one .mjs (build-gpu-check.mjs) and run by gpu-check.sh on a
// machine with a GPU: backend status, the execution conformance groups, and a ResNet-20
// training-step benchmark (batch 128: forward, backward, SGD update). Prints one JSON object.
import { availableBackends, crossEntropy, getBackend, jit, random, setDefaultBackend, tensor, type Tensor, valueAndGrad } from '@resgrad/core';
import { resnetCifar, sgd } from '@resgrad/nn';
import { loadCudaBackend, type CudaBackend } from '@resgrad/backend-cuda';
import { runConformance } from '../test/conformance.js';

const t0 = performance.now();
const secs = () => Number(((performance.now() - t0) / 1000).toFixed(1));
const result: Record<string, unknown> = { backends: availableBackends() };

function benchResnet20(batch: number, steps: number): Record<string, unknown> {
  setDefaultBackend('cuda');
  const net = resnetCifar({ depth: 20 });
  const init = net.init(random.key(0), [batch, 3, 32, 32]);
  const opt = sgd({ momentum: 0.9, weightDecay: 1e-4 });
  const lossFn = (params: unknown, state: unknown, x: Tensor, y: Tensor) => {
    const [logits, newState] = net.apply(params as never, state as never, x, { train: true });
    return [crossEntropy(logits, y), newState] as const;
  };
  const step = jit((params: unknown, state: unknown, os: unknown, x: Tensor, y: Tensor, lr: Tensor) => {
    const [[l, newState], grads] = valueAndGrad(lossFn, { hasAux: true })(params, state, x, y);
    const [np, no] = opt.update(grads as never, os as never, params as never, { lr });
    return { params: np, state: newState, optState: no, loss: l };
  });
  const xs = new Float32Array(batch * 3 * 32 * 32).map((_, i) => Math.sin(i) * 0.5);
  const ys = Int32Array.from({ length: batch }, (_, i) => i % 10);
  const x = tensor(xs, { shape: [batch, 3, 32, 32] });
  const y = tensor(ys, { shape: [batch] });
  const lr = tensor(new Float32Array([0.1]), { shape: [] });
  let s = { params: init.params, state: init.state, optState: opt.init(init.params) as unknown };
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
  const only = process.env.RESGRAD_GPU_CHECK_ONLY ?? 'conformance,bench';
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
}
result.wallS = secs();
console.log(JSON.stringify(result));
