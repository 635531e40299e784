// Programs whose library kernels carry elementwise epilogues, scheduled the way the CUDA
// backend schedules them (cudaLibraryEpilogue): the core conformance suite's graphs that form
// epilogues (its epilogue chains, the conv gradients, the residual block), the inference and
// training forms of ResNet-8, and cases aimed at each code path of the renderer (split-K
// weight gradient, grouped/strided/dilated convolution, batched and int32 dots, float64,
// a bool mask, chains that read the op's own operands). CI compiles every kernel of them
// (ci/kernels.check.ts); the GPU check runs the graphs against the oracle (conformance.ts).
import {
  add, conv2d, crossEntropy, type DType, grad, type Graph, jit, matmul, maximum, mean, mul, random, relu, reshape, rsqrt, schedule,
  type ScheduleOptions, square, sub, sum, tanh, type Tensor, tensor, valueAndGrad, variance, where,
} from '@resgrad/core';
import { resnetCifar } from '@resgrad/nn';
import { cudaLibraryEpilogue } from '@resgrad/backend-cuda';
import type { CorpusEntry } from './corpus.js';

const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

function zeros(shape: readonly number[], dtype: DType = 'float32'): Tensor {
  const n = size(shape);
  const data = dtype === 'float32' ? new Float32Array(n) : dtype === 'float64' ? new Float64Array(n) : dtype === 'int32' ? new Int32Array(n) : new Uint8Array(n);
  return tensor(data, { shape: [...shape], dtype });
}

const lower = <F extends (...a: any[]) => any>(f: F, ...args: Parameters<F>): Graph => jit(f).lower(...args);
const col = (t: Tensor) => reshape(t, [1, -1, 1, 1]);

/** Scheduling as the backend does, with cuBLAS present (float dots keep no epilogue) or absent. */
export const cudaSchedule = (cublas: boolean): ScheduleOptions => ({ libraryEpilogue: cudaLibraryEpilogue(cublas) });

/** Graphs that form library epilogues, with labels (all small enough to run against the oracle). */
export function epilogueGraphs(): [string, Graph][] {
  const out: [string, Graph][] = [];
  const f32 = (shape: number[]) => zeros(shape);

  // The conformance suite's epilogue chains.
  const infer = (x: Tensor, w: Tensor, s: Tensor, b: Tensor) => relu(add(add(mul(conv2d(x, w, { padding: 1 }), col(s)), col(b)), x));
  out.push(['epi/conv-bn-add-relu', lower(infer, f32([4, 8, 8, 8]), f32([8, 8, 3, 3]), f32([8]), f32([8]))]);
  const mm = (p: Tensor, q: Tensor, c: Tensor) => tanh(add(matmul(p, q), c));
  out.push(['epi/matmul-bias-tanh', lower(mm, f32([2, 5, 7]), f32([2, 7, 9]), f32([9]))]);
  const sgd = (w: Tensor, x: Tensor) => sub(w, mul(grad((v: Tensor) => sum(square(conv2d(x, v, { padding: 1 }))))(w), 1e-3));
  out.push(['epi/sgd-conv-weight', lower(sgd, f32([8, 8, 3, 3]), f32([4, 8, 8, 8]))]);

  // The suite's conv gradients (stride, padding, groups) in both float dtypes.
  for (const dtype of ['float32', 'float64'] as DType[])
    for (const [stride, padding, groups] of [[1, 1, 1], [2, 1, 1], [1, 0, 2]] as const) {
      const f = (a: Tensor, b: Tensor) => sum(mul(conv2d(a, b, { stride, padding, groups }), conv2d(a, b, { stride, padding, groups })));
      const g = grad(f, { argnums: [0, 1] }) as unknown as (a: Tensor, b: Tensor) => Tensor[];
      out.push([`epi/conv-grads/${dtype}/s${stride}p${padding}g${groups}`, lower(g, zeros([2, 4, 6, 6], dtype), zeros([6, 4 / groups, 3, 3], dtype))]);
    }

  // The suite's residual block, value and gradients.
  const bn = (h: Tensor, g: Tensor) => {
    const m = mean(h, [0, 2, 3], { keepDims: true });
    const v = variance(h, [0, 2, 3], { keepDims: true });
    return mul(mul(sub(h, m), rsqrt(add(v, 1e-5))), reshape(g, [1, 8, 1, 1]));
  };
  const block = (x: Tensor, a: Tensor, b: Tensor, g: Tensor) => {
    const h = relu(bn(conv2d(x, a, { padding: 1 }), g));
    return sum(square(relu(add(bn(conv2d(h, b, { padding: 1 }), g), x))));
  };
  const vg = valueAndGrad(block, { argnums: [0, 1, 2, 3] }) as unknown as (...a: Tensor[]) => [Tensor, Tensor[]];
  out.push(['epi/block-value-and-grad', lower(vg, f32([4, 8, 8, 8]), f32([8, 8, 3, 3]), f32([8, 8, 3, 3]), f32([8]))]);

  // A split-K weight gradient (K = 2*48*48 = 4608 split in slices) with an SGD update: the
  // epilogue is applied in the kernel that sums the slices.
  const sgdBig = (w: Tensor, x: Tensor) => add(w, mul(grad((v: Tensor) => sum(square(conv2d(x, v, { padding: 1 }))))(w), -0.01));
  out.push(['epi/split-k-sgd', lower(sgdBig, f32([2, 2, 3, 3]), f32([2, 2, 48, 48]))]);

  // Momentum SGD on a conv weight: v' = 0.9 v + dw + 1e-4 w (stored), w' = w - lr v'.
  const momentum = (w: Tensor, v: Tensor, x: Tensor, lr: Tensor) => {
    const dw = grad((u: Tensor) => sum(square(relu(conv2d(x, u, { padding: 1 })))))(w);
    const v2 = add(add(mul(v, 0.9), dw), mul(w, 1e-4));
    return [v2, sub(w, mul(v2, lr))];
  };
  out.push(['epi/momentum-sgd', lower(momentum, f32([8, 4, 3, 3]), f32([8, 4, 3, 3]), f32([3, 4, 9, 9]), f32([]))]);

  // Inference BatchNorm from running statistics: rsqrt(var + eps) * gamma per channel is the
  // costly row value the tiled kernel computes before its product loop (epilogue.ts).
  const bnInfer = (x: Tensor, w: Tensor, m: Tensor, v: Tensor, g: Tensor, b: Tensor) =>
    relu(add(mul(sub(conv2d(x, w, { padding: 1 }), col(m)), col(mul(rsqrt(add(mul(v, v), 1e-5)), g))), col(b)));
  out.push(['epi/bn-inference', lower(bnInfer, f32([2, 4, 6, 6]), f32([6, 4, 3, 3]), f32([6]), f32([6]), f32([6]), f32([6]))]);
  const tanhScale = (x: Tensor, w: Tensor, s: Tensor) => mul(conv2d(x, w, { padding: 1 }), col(tanh(s)));
  out.push(['epi/costly-row-value', lower(tanhScale, f32([2, 4, 6, 6]), f32([6, 4, 3, 3]), f32([6]))]);

  // The ReLU-gradient mask as a bool buffer on an input gradient.
  const masked = (dy: Tensor, w: Tensor, m: Tensor) => where(m, add(conv2d(dy, w, { padding: 1 }), 0.5), 0);
  out.push(['epi/bool-mask', lower(masked, f32([2, 4, 5, 5]), f32([4, 4, 3, 3]), zeros([2, 4, 5, 5], 'bool'))]);

  // A grouped, strided, dilated, asymmetrically padded conv with BN affine and ReLU.
  const odd = (x: Tensor, w: Tensor, s: Tensor, b: Tensor) =>
    relu(add(mul(conv2d(x, w, { stride: [2, 1], padding: [[1, 1], [0, 1]], dilation: [1, 2], groups: 2 }), col(s)), col(b)));
  out.push(['epi/grouped-strided-dilated', lower(odd, f32([2, 4, 9, 9]), f32([6, 2, 3, 3]), f32([6]), f32([6]))]);

  // float64 conv + BN + ReLU, and an int32 batched dot with a wrapping multiply-add.
  const f64 = (x: Tensor, w: Tensor, s: Tensor) => relu(mul(conv2d(x, w, { padding: 1 }), col(s)));
  out.push(['epi/float64-conv', lower(f64, zeros([2, 3, 6, 6], 'float64'), zeros([5, 3, 3, 3], 'float64'), zeros([5], 'float64'))]);
  const idot = (a: Tensor, b: Tensor, c: Tensor) => add(mul(matmul(a, b), 3), c);
  out.push(['epi/int32-dot', lower(idot, zeros([3, 6, 33], 'int32'), zeros([3, 33, 17], 'int32'), zeros([3, 6, 17], 'int32'))]);

  // Chains that read the op's own operand again and mix transcendental math.
  const reread = (x: Tensor, w: Tensor) => maximum(tanh(add(conv2d(x, w, { padding: 1 }), x)), mul(x, 0.25));
  out.push(['epi/reads-operand', lower(reread, f32([2, 4, 7, 7]), f32([4, 4, 3, 3]))]);
  const dotOperand = (a: Tensor, b: Tensor) => sub(matmul(a, b), mul(a, 2));
  out.push(['epi/dot-reads-operand', lower(dotOperand, f32([12, 12]), f32([12, 12]))]);
  return out;
}

/** The residual block of corpus.ts at batch 32, forward and backward, and ResNet-8 at batch 128. */
function networkGraphs(): [string, Graph][] {
  const batch = 128;
  const net = resnetCifar({ depth: 8 });
  const init = net.init(random.key(0), [batch, 3, 32, 32]);
  // Inference: every conv + BN (running statistics: an affine) + residual add + ReLU.
  const inferNet = (params: unknown, state: unknown, x: Tensor) => net.apply(params as never, state as never, x, { train: false })[0];
  const inference = jit(inferNet).lower(init.params, init.state, zeros([batch, 3, 32, 32]));
  // Training gradients (the step with its optimiser update is corpus.ts's resnetStepProgram).
  const loss = (params: unknown, state: unknown, x: Tensor, y: Tensor) =>
    crossEntropy(net.apply(params as never, state as never, x, { train: true })[0], y);
  const grads = jit(grad(loss)).lower(init.params, init.state, zeros([batch, 3, 32, 32]), zeros([batch], 'int32'));
  return [
    [`epi/resnet8/inference/b${batch}`, inference],
    [`epi/resnet8/grad/b${batch}`, grads],
  ];
}

/**
 * The epilogue corpus: each graph scheduled as the backend would without cuBLAS (every op takes
 * an epilogue) and with it (float dots keep their chain as a fused kernel).
 */
export function epiloguePrograms(): CorpusEntry[] {
  return [...epilogueGraphs(), ...networkGraphs()].flatMap(([label, g]) => [
    { label, program: schedule(g, cudaSchedule(false)), graph: g },
    { label: `${label}/cublas`, program: schedule(g, cudaSchedule(true)) },
  ]);
}
