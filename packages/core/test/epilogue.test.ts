// Library kernels with elementwise epilogues: which chains the scheduler folds into a
// convolution or matmul, and that folding never changes a value (bit for bit against the
// schedule without epilogues, and against the equation-by-equation oracle).
import { describe, expect, it } from 'vitest';
import { fc, test as fcTest } from '@fast-check/vitest';
import {
  add, cast, compileProgram, conv2d, exp, grad, type Graph, jit, type LibraryKernel, matmul, maximum, mean, mul, type Program,
  relu, reshape, rsqrt, schedule, type ScheduleOptions, sub, sum, tanh, type Tensor, tensor, type TypedArray, variance, where,
} from '@resgrad/core';
import { checkAgainstOracle, constData, rng } from './kernel-helpers.js';

const EPILOGUES: ScheduleOptions = { libraryEpilogue: () => true };

const randn = (shape: number[], seed: number): Tensor => {
  const r = rng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = (r() + r() + r() - 1.5) * 2;
  return tensor(data, { shape });
};
const lower = <F extends (...a: any[]) => any>(f: F, ...args: Parameters<F>): Graph => jit(f).lower(...args);
const libraries = (p: Program) => p.kernels.filter((k): k is LibraryKernel => k.kind === 'library');
const fusedCount = (p: Program) => p.kernels.filter((k) => k.kind === 'fused').length;

/** Runs `graph` scheduled with and without epilogues; the outputs must agree bit for bit. */
function expectSameBothWays(graph: Graph, inputs: readonly TypedArray[]): Program {
  const consts = constData(graph);
  const plain = compileProgram(schedule(graph)).run(inputs, consts);
  const withEpilogues = schedule(graph, EPILOGUES);
  const got = compileProgram(withEpilogues).run(inputs, consts);
  got.forEach((g, i) => expect(Array.from(g), `output ${i}`).toEqual(Array.from(plain[i]!)));
  return withEpilogues;
}

// Inference-mode BatchNorm folded to a per-channel affine, then the residual add and ReLU.
const convBnAddRelu = (x: Tensor, w: Tensor, scale: Tensor, shift: Tensor, shortcut: Tensor) =>
  relu(add(add(mul(conv2d(x, w, { padding: 1 }), reshape(scale, [1, -1, 1, 1])), reshape(shift, [1, -1, 1, 1])), shortcut));

describe('library epilogues', () => {
  const x = randn([2, 3, 5, 5], 1);
  const w = randn([4, 3, 3, 3], 2);
  const scale = randn([4], 3);
  const shift = randn([4], 4);
  const shortcut = randn([2, 4, 5, 5], 5);

  it('conv + BatchNorm affine + residual add + ReLU is one library kernel', () => {
    const g = lower(convBnAddRelu, x, w, scale, shift, shortcut);
    const p = checkAgainstOracle(g, [x, w, scale, shift, shortcut].map((t) => t.data()), 'conv epilogue', EPILOGUES);
    expect(p.kernels).toHaveLength(1);
    const k = libraries(p)[0]!;
    expect(k.op).toBe('conv2d');
    expect(k.epilogue).toBeDefined();
    // operands first, then what the epilogue reads
    expect(k.args.slice(0, 2)).toEqual([p.inputs[0], p.inputs[1]]);
    expect(new Set(k.args.slice(2))).toEqual(new Set([p.inputs[2], p.inputs[3], p.inputs[4]]));
    expect(String(p)).toContain('then out[i0,i1,i2,i3] =');
    // Without the option the same graph keeps the library result in a buffer of its own.
    const plain = schedule(g);
    expect(libraries(plain)[0]!.epilogue).toBeUndefined();
    expect(fusedCount(plain)).toBe(1);
    expectSameBothWays(g, [x, w, scale, shift, shortcut].map((t) => t.data()));
  });

  it('matmul + bias + tanh is one library kernel', () => {
    const a = randn([3, 7], 6);
    const b = randn([7, 5], 7);
    const bias = randn([5], 8);
    const g = lower((a: Tensor, b: Tensor, c: Tensor) => tanh(add(matmul(a, b), c)), a, b, bias);
    const p = checkAgainstOracle(g, [a, b, bias].map((t) => t.data()), 'dot epilogue', EPILOGUES);
    expect(p.kernels).toHaveLength(1);
    expect(libraries(p)[0]!.epilogue).toBeDefined();
  });

  it('a result used twice apart, or as a graph output, is stored', () => {
    const twice = lower((x: Tensor, w: Tensor) => {
      const y = conv2d(x, w);
      return [exp(y), mul(y, 2)];
    }, x, w);
    const p = checkAgainstOracle(twice, [x.data(), w.data()], 'two uses', EPILOGUES);
    // y is stored (two consumers that do not meet again); each consumer is a fused kernel.
    expect(libraries(p)[0]!.epilogue).toBeUndefined();
    expect(fusedCount(p)).toBe(2);
    const out = lower((x: Tensor, w: Tensor) => {
      const y = conv2d(x, w);
      return [y, relu(y)];
    }, x, w);
    const q = checkAgainstOracle(out, [x.data(), w.data()], 'graph output', EPILOGUES);
    expect(libraries(q)[0]!.epilogue).toBeUndefined();
  });

  it('a chain that ends in another dtype stores the op result and reads it', () => {
    const g = lower((x: Tensor, w: Tensor) => cast(add(conv2d(x, w), 1), 'int32'), x, w);
    const p = checkAgainstOracle(g, [x.data(), w.data()], 'cast', EPILOGUES);
    expect(libraries(p)[0]!.epilogue).toBeUndefined();
    expect(fusedCount(p)).toBe(1);
  });

  it('ReLU reads its operand twice and still fuses (the uses reconverge)', () => {
    const g = lower((x: Tensor, w: Tensor) => relu(conv2d(x, w, { padding: 1 })), x, w);
    const p = expectSameBothWays(g, [x.data(), w.data()]);
    expect(p.kernels).toHaveLength(1);
    expect(libraries(p)[0]!.epilogue).toBeDefined();
  });

  it('a training step of two convs with BatchNorm (batch statistics) and ReLU keeps its values', () => {
    const y = randn([2, 4, 5, 5], 9);
    const w2 = randn([4, 4, 3, 3], 12);
    const loss = (w1: Tensor, w2: Tensor, x: Tensor, gamma: Tensor, beta: Tensor, shortcut: Tensor) => {
      const h = conv2d(x, w1, { padding: 1 });
      const m = mean(h, [0, 2, 3]);
      const v = variance(h, [0, 2, 3]);
      const col = (t: Tensor) => reshape(t, [1, -1, 1, 1]);
      const z = add(mul(mul(sub(h, col(m)), col(rsqrt(add(v, 1e-5)))), col(gamma)), col(beta));
      const out = conv2d(relu(add(z, shortcut)), w2, { padding: 1 });
      return sum(mul(out, y));
    };
    const g = lower(grad(loss, { argnums: [0, 1] }), w, w2, x, scale, shift, shortcut);
    const inputs = [w, w2, x, scale, shift, shortcut].map((t) => t.data());
    checkAgainstOracle(g, inputs, 'bn step', EPILOGUES);
    const p = expectSameBothWays(g, inputs);
    // The second conv's input gradient flows into the ReLU mask: an epilogue.
    const dgrad = libraries(p).find((k) => k.op === 'conv2dInputGrad')!;
    expect(dgrad.epilogue).toBeDefined();
  });

  it('a where on the result (the ReLU gradient) fuses into the input gradient', () => {
    const dy = randn([2, 4, 5, 5], 10);
    const wt = randn([4, 4, 3, 3], 11);
    const mask = tensor(Array.from({ length: 200 }, (_, i) => i % 3 === 0), { shape: [2, 4, 5, 5] });
    const g = lower((dy: Tensor, w: Tensor, m: Tensor) => where(m, add(conv2d(dy, w, { padding: 1 }), 0.5), 0), dy, wt, mask);
    const p = expectSameBothWays(g, [dy, wt, mask].map((t) => t.data()));
    expect(p.kernels).toHaveLength(1);
  });

  // Random elementwise chains after a convolution: folding them in never changes a bit.
  const chainOp = fc.constantFrom('relu', 'addShortcut', 'scale', 'tanh', 'max', 'sub', 'double');
  fcTest.prop([fc.array(chainOp, { minLength: 1, maxLength: 6 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 0, max: 1 })])(
    'random epilogue chains match the unfused schedule bit for bit',
    (ops, stride, pad) => {
      const f = (x: Tensor, w: Tensor, s: Tensor, sc: Tensor) => {
        let y = conv2d(x, w, { stride, padding: pad });
        for (const op of ops) {
          if (op === 'relu') y = relu(y);
          else if (op === 'addShortcut') y = add(y, reshape(sum(sc, [0, 2, 3]), [1, -1, 1, 1]));
          else if (op === 'scale') y = mul(y, reshape(s, [1, -1, 1, 1]));
          else if (op === 'tanh') y = tanh(y);
          else if (op === 'max') y = maximum(y, 0.25);
          else if (op === 'sub') y = sub(0.5, y);
          else y = add(y, y);
        }
        return y;
      };
      const g = lower(f, x, w, scale, shortcut);
      const p = expectSameBothWays(g, [x, w, scale, shortcut].map((t) => t.data()));
      const conv = libraries(p).find((k) => k.op === 'conv2d')!;
      expect(conv.epilogue).toBeDefined();
    },
  );
});
