// The representative set of scheduled programs whose kernels CI compiles without a GPU:
// every primitive in float32/int32/bool, random programs from a fast-check generator, a
// conv/BN/ReLU/residual block forward and backward, a ResNet-8 training step, and the same
// networks plus targeted cases scheduled with library epilogues (epilogue-corpus.ts). Only
// tracing and scheduling run here (no kernel executes), so even batch-128 shapes are cheap.
import fc from 'fast-check';
import {
  add, bind, conv2d, crossEntropy, type DType, grad, jit, makeGraph, mean, mul, optimizeGraph, type PrimName, primitives, random,
  relu, rsqrt, schedule, type ScheduleOptions, sub, sum, type Graph, type Program, type Tensor, tensor, valueAndGrad, variance,
} from '@resgrad/core';
import { resnetCifar, sgd } from '@resgrad/nn';
import { cudaSchedule, epiloguePrograms } from './epilogue-corpus.js';

/** A named program of the corpus. */
export interface CorpusEntry {
  readonly label: string;
  readonly program: Program;
  /** The graph it was scheduled from (for execution tests). */
  readonly graph?: Graph;
}

const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

function zeros(shape: readonly number[], dtype: DType): Tensor {
  const n = size(shape);
  const data = dtype === 'float32' ? new Float32Array(n) : dtype === 'float64' ? new Float64Array(n) : dtype === 'int32' ? new Int32Array(n) : new Uint8Array(n);
  return tensor(data, { shape: [...shape], dtype });
}

const p = (prim: PrimName, xs: Tensor[], params: object = {}) => bind(prim, xs, params as never);

/** Operand shapes and params of each primitive, for one dtype; null where it does not apply. */
function primitiveCases(prim: PrimName, dt: DType): { inputs: Tensor[]; params: object }[] {
  const x = (shape: number[], d: DType = dt) => zeros(shape, d);
  const conv = { stride: [2, 1], padding: [[1, 1], [0, 1]], dilation: [1, 2], groups: 1 };
  switch (prim) {
    case 'cast':
      return (['float32', 'float64', 'int32', 'bool'] as DType[]).map((to) => ({ inputs: [x([3, 5])], params: { dtype: to } }));
    case 'bitsToFloat':
      return dt === 'int32' ? [{ inputs: [x([7])], params: { dtype: 'float32' } }, { inputs: [x([7])], params: { dtype: 'float64' } }] : [];
    case 'where':
      return [{ inputs: [x([4, 3], 'bool'), x([4, 3]), x([4, 3])], params: {} }];
    case 'sum':
    case 'reduceMax':
      return [{ inputs: [x([6, 5, 4])], params: { axes: [1] } }, { inputs: [x([6, 5, 40])], params: { axes: [0, 2] } }, { inputs: [x([3, 5000])], params: { axes: [1] } }];
    case 'reshape':
      return [{ inputs: [x([6, 4])], params: { shape: [2, 12] } }];
    case 'broadcast':
      return [{ inputs: [x([1, 4])], params: { shape: [3, 4] } }];
    case 'transpose':
      return [{ inputs: [x([2, 3, 4])], params: { perm: [2, 0, 1] } }];
    case 'slice':
      return [{ inputs: [x([9, 8])], params: { start: [1, 0], end: [8, 7], step: [2, 3] } }];
    case 'pad':
      return [{ inputs: [x([4, 3])], params: { lo: [1, 0], hi: [2, 1], interior: [1, 0], value: dt === 'bool' ? 1 : -2 } }];
    case 'concat':
      return [{ inputs: [x([2, 3]), x([4, 3])], params: { axis: 0 } }];
    case 'dot':
      return dt === 'bool' ? [] : [{ inputs: [x([5, 7]), x([7, 3])], params: {} }, { inputs: [x([2, 33, 65]), x([2, 65, 17])], params: {} }];
    case 'conv2d':
      return dt === 'float32' ? [{ inputs: [x([2, 3, 9, 9]), x([4, 3, 3, 3])], params: conv }, { inputs: [x([2, 4, 6, 6]), x([6, 2, 3, 3])], params: { ...conv, groups: 2 } }] : [];
    case 'conv2dInputGrad':
      return dt === 'float32' ? [{ inputs: [x([2, 4, 5, 5]), x([4, 3, 3, 3])], params: { ...conv, inputShape: [2, 3, 9, 9] } }] : [];
    case 'conv2dWeightGrad':
      return dt === 'float32' ? [{ inputs: [x([2, 3, 9, 9]), x([2, 4, 5, 5])], params: { ...conv, weightShape: [4, 3, 3, 3] } }] : [];
    case 'iota':
      return dt === 'bool' ? [] : [{ inputs: [], params: { shape: [3, 4], axis: 1, dtype: dt } }];
    case 'randomBits':
      return dt === 'int32' ? [{ inputs: [x([2])], params: { shape: [5, 6], stream: 3 } }] : [];
    default:
      // elementwise: every arity, operands of dtype dt; the ones the primitive rejects are skipped
      return [1, 2, 3].map((n) => ({ inputs: Array.from({ length: n }, () => x([4, 5])), params: {} }));
  }
}

/** One graph per (primitive, dtype, case) that the primitive accepts. */
export function primitivePrograms(): CorpusEntry[] {
  const out: CorpusEntry[] = [];
  for (const prim of Object.keys(primitives) as PrimName[]) {
    for (const dt of ['float32', 'int32', 'bool'] as DType[]) {
      primitiveCases(prim, dt).forEach((c, i) => {
        let g: Graph;
        try {
          g = makeGraph((...xs: Tensor[]) => [p(prim, xs, c.params)])(...c.inputs);
        } catch {
          return; // not defined for this dtype/arity
        }
        out.push({ label: `${prim}/${dt}/${i}`, program: schedule(g), graph: g });
      });
    }
  }
  return out;
}

// ----- random programs -----

const UNARY: PrimName[] = ['neg', 'exp', 'log', 'sqrt', 'rsqrt', 'recip', 'sin', 'cos', 'tanh', 'abs', 'sign'];
const BINARY: PrimName[] = ['add', 'sub', 'mul', 'div', 'max', 'min', 'pow'];
const COMPARE: PrimName[] = ['eq', 'ne', 'lt', 'le', 'gt', 'ge'];

/** Applies one random step (a primitive on pool members), or returns null when it does not apply. */
function step(kind: number, r: readonly number[], pool: Tensor[]): Tensor | null {
  let i = 0;
  const next = (n: number) => (n <= 1 ? 0 : r[i++ % r.length]! % n);
  const a = pool[pool.length - 1 - next(Math.min(pool.length, 3))]!;
  const float = a.dtype === 'float32';
  const same = () => {
    const b = pool[next(pool.length)]!;
    const flat = p('reshape', [b], { shape: [b.size] });
    const t = b.size >= a.size ? p('slice', [flat], { start: [0], end: [a.size], step: [1] }) : p('pad', [flat], { lo: [0], hi: [a.size - b.size], interior: [0], value: 1 });
    const shaped = p('reshape', [t], { shape: a.shape });
    return shaped.dtype === a.dtype ? shaped : p('cast', [shaped], { dtype: a.dtype });
  };
  switch (kind) {
    case 0:
      return float ? p(UNARY[next(UNARY.length)]!, [a]) : p(['neg', 'abs', 'sign'][next(3)] as PrimName, [a]);
    case 1:
      return p(BINARY[next(float ? 7 : 6)]!, [a, same()]);
    case 2:
      return p('where', [p(COMPARE[next(6)]!, [a, same()]), a, same()]);
    case 3: {
      if (a.shape.length === 0) return null;
      const axes = a.shape.flatMap((_, k) => (next(2) ? [k] : []));
      return p(next(2) ? 'sum' : 'reduceMax', [a], { axes: axes.length ? axes : [0] });
    }
    case 4: {
      const perm = a.shape.map((_, k) => k).reverse();
      return p('transpose', [a], { perm });
    }
    case 5:
      return a.shape.length ? p('pad', [a], { lo: a.shape.map(() => next(2)), hi: a.shape.map(() => next(3)), interior: a.shape.map(() => 0), value: 0 }) : null;
    case 6:
      return a.size >= 2 ? p('slice', [p('reshape', [a], { shape: [a.size] })], { start: [next(2)], end: [a.size], step: [1 + next(2)] }) : null;
    case 7:
      return p('cast', [a], { dtype: (['float32', 'int32', 'bool'] as DType[])[next(3)]! });
    case 8:
      return p('broadcast', [p('reshape', [a], { shape: [1, ...a.shape] })], { shape: [1 + next(3), ...a.shape] });
    default: {
      if (a.shape.length !== 2 || a.dtype === 'bool') return null;
      const [m, k] = a.shape as [number, number];
      const b = p('reshape', [p('broadcast', [p('reshape', [same()], { shape: [a.size] })], { shape: [a.size] })], { shape: [k, m] });
      return p('dot', [a, b]);
    }
  }
}

/** Random graphs from a fast-check generator (fixed seed), with labels. */
export function randomGraphs(count: number): [string, Graph][] {
  const arb = fc.record({
    dtype: fc.constantFrom<DType>('float32', 'int32'),
    shape: fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 3 }),
    steps: fc.array(fc.record({ kind: fc.nat(9), r: fc.array(fc.nat(1000), { minLength: 8, maxLength: 8 }) }), { minLength: 2, maxLength: 8 }),
  });
  return fc.sample(arb, { numRuns: count, seed: 20261129 }).flatMap((c, i) => {
    const f = (x: Tensor, y: Tensor) => {
      const pool = [x, y];
      for (const s of c.steps) {
        try {
          const t = step(s.kind, s.r, pool);
          if (t && t.size <= 4096 && t.shape.length <= 4) pool.push(t);
        } catch {
          // a step that does not fit its operands is skipped
        }
      }
      return [pool[pool.length - 1]!, pool[pool.length - 2]!];
    };
    return [[`random/${i}`, makeGraph(f)(zeros(c.shape, c.dtype), zeros(c.shape, c.dtype))] as [string, Graph]];
  });
}

/** Random programs, scheduled as traced and as optimised. */
export function randomPrograms(count: number): CorpusEntry[] {
  return randomGraphs(count).flatMap(([label, g]) => [
    { label, program: schedule(g), graph: g },
    { label: `${label}/opt`, program: schedule(optimizeGraph(g)) },
  ]);
}

// ----- network pieces -----

/** BatchNorm in training mode without affine parameters: per-channel batch statistics of NCHW. */
function batchNormLike(x: Tensor): Tensor {
  const m = mean(x, [0, 2, 3], { keepDims: true });
  const v = variance(x, [0, 2, 3], { keepDims: true });
  return mul(sub(x, m), rsqrt(add(v, 1e-5)));
}

/** conv -> BN (batch statistics) -> ReLU -> conv -> BN -> + x -> ReLU, forward and backward. */
export function residualBlockGraphs(batch = 32): [string, Graph][] {
  const x = zeros([batch, 16, 16, 16], 'float32');
  const w1 = zeros([16, 16, 3, 3], 'float32');
  const w2 = zeros([16, 16, 3, 3], 'float32');
  const block = (x: Tensor, w1: Tensor, w2: Tensor) => {
    const c = { padding: 1 };
    const h = relu(batchNormLike(conv2d(x, w1, c)));
    return relu(add(batchNormLike(conv2d(h, w2, c)), x));
  };
  const fwd = jit(block).lower(x, w1, w2);
  const loss = (x: Tensor, w1: Tensor, w2: Tensor) => sum(mul(block(x, w1, w2), block(x, w1, w2)));
  const bwd = jit(grad(loss, { argnums: [0, 1, 2] })).lower(x, w1, w2);
  return [
    ['block/forward', fwd],
    ['block/backward', bwd],
  ];
}

/** The block's forward and backward programs. */
export function residualBlockPrograms(): CorpusEntry[] {
  return residualBlockGraphs().map(([label, g]) => ({ label, program: schedule(g), graph: g }));
}

/** One jitted SGD step of ResNet-8 on a CIFAR batch of `batch` images (trace and schedule only). */
export function resnetStepProgram(batch = 128, options: ScheduleOptions = {}, suffix = ''): CorpusEntry {
  const net = resnetCifar({ depth: 8 });
  const init = net.init(random.key(0), [batch, 3, 32, 32]);
  const opt = sgd({ momentum: 0.9, weightDecay: 1e-4 });
  const optState = opt.init(init.params);
  const lossFn = (params: unknown, state: unknown, x: Tensor, y: Tensor) => {
    const [logits, newState] = net.apply(params as never, state as never, x, { train: true });
    return [crossEntropy(logits, y), newState] as const;
  };
  const step = jit((params: unknown, state: unknown, os: unknown, x: Tensor, y: Tensor, lr: Tensor) => {
    const [[l, newState], grads] = valueAndGrad(lossFn, { hasAux: true })(params, state, x, y);
    const [np, no] = opt.update(grads as never, os as never, params as never, { lr });
    return { params: np, state: newState, optState: no, loss: l };
  });
  const g = step.lower(init.params, init.state, optState, zeros([batch, 3, 32, 32], 'float32'), zeros([batch], 'int32'), tensor(new Float32Array([0.1]), { shape: [] }));
  return { label: `resnet8/step/b${batch}${suffix}`, program: schedule(g, options) };
}

/** The residual block scheduled with library epilogues, as the backend does with and without cuBLAS. */
export function residualBlockEpiloguePrograms(): CorpusEntry[] {
  return residualBlockGraphs().flatMap(([label, g]) => [
    { label: `${label}/epi`, program: schedule(g, cudaSchedule(false)), graph: g },
    { label: `${label}/epi/cublas`, program: schedule(g, cudaSchedule(true)) },
  ]);
}

/** The whole corpus. */
export function corpus(randomCount = 40): CorpusEntry[] {
  return [
    ...primitivePrograms(), ...randomPrograms(randomCount), ...residualBlockPrograms(), resnetStepProgram(),
    // Library epilogues: the step with its momentum-SGD updates folded into the weight gradients.
    ...residualBlockEpiloguePrograms(), resnetStepProgram(128, cudaSchedule(false), '/epi'), resnetStepProgram(128, cudaSchedule(true), '/epi/cublas'),
    ...epiloguePrograms(),
  ];
}
