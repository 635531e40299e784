// Random programs built by fast-check from the whole primitive set (elementwise with
// broadcasting, reductions, reshape/transpose/slice/pad/concat/broadcast chains, dot, conv,
// casts): scheduled + interpreted execution equals the equation-by-equation oracle, for the
// programs themselves, their optimised (jit) form and, for float programs, their gradients.
import fc from 'fast-check';
import { describe, it } from 'vitest';
import { bind, type DType, grad, type Graph, makeGraph, optimizeGraph, type PrimName, sum, type Tensor, tensor } from '@resgrad/core';
import { checkAgainstOracle, rng } from './kernel-helpers.js';

type Kind = 'unary' | 'binary' | 'bcast-binary' | 'where' | 'reduce' | 'reshape' | 'transpose' | 'slice' | 'pad' | 'concat' | 'broadcast' | 'dot' | 'conv' | 'cast';
const KINDS: readonly Kind[] = ['unary', 'binary', 'bcast-binary', 'where', 'reduce', 'reshape', 'transpose', 'slice', 'pad', 'concat', 'broadcast', 'dot', 'conv', 'cast'];
interface Step {
  kind: Kind;
  r: number[];
}

const FLOAT_UNARY: PrimName[] = ['neg', 'exp', 'log', 'sqrt', 'rsqrt', 'recip', 'sin', 'cos', 'tanh', 'abs', 'sign'];
const INT_UNARY: PrimName[] = ['neg', 'abs', 'sign'];
const BINARY: PrimName[] = ['add', 'sub', 'mul', 'div', 'max', 'min', 'pow'];
const COMPARE: PrimName[] = ['eq', 'ne', 'lt', 'le', 'gt', 'ge'];
const MAX_SIZE = 512;

const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
const p = (prim: PrimName, xs: Tensor[], params: object = {}) => bind(prim, xs, params as never);

/** `t` as a tensor of exactly `shape` and `dtype`: flattened, cut or padded, reshaped, cast. */
function fit(t: Tensor, shape: readonly number[], dtype: DType, next: (n: number) => number): Tensor {
  const n = size(shape);
  let flat = p('reshape', [t], { shape: [t.size] });
  if (t.size >= 2 * n && n > 0) flat = p('slice', [flat], { start: [1], end: [1 + 2 * (n - 1) + 1], step: [2] });
  else if (t.size >= n) flat = p('slice', [flat], { start: [0], end: [n], step: [1] });
  else {
    const lo = next(2);
    flat = p('pad', [flat], { lo: [lo], hi: [n - t.size], interior: [0], value: 0.5 });
    flat = p('slice', [flat], { start: [lo], end: [lo + n], step: [1] });
  }
  const shaped = p('reshape', [flat], { shape });
  return shaped.dtype === dtype ? shaped : p('cast', [shaped], { dtype });
}

/** Applies one random step to the pool; returns null when it does not apply (the step is skipped). */
function apply(step: Step, pool: Tensor[], base: DType): Tensor | null {
  let i = 0;
  const next = (n: number) => (n <= 1 ? 0 : step.r[i++ % step.r.length]! % n);
  const pick = () => pool[pool.length - 1 - next(Math.min(pool.length, 4))]!;
  const a = pick();
  const float = a.dtype === 'float32' || a.dtype === 'float64';
  const rank = a.shape.length;
  switch (step.kind) {
    case 'unary': {
      if (a.dtype === 'bool') return p('cast', [a], { dtype: base });
      const ops = float ? FLOAT_UNARY : INT_UNARY;
      return p(ops[next(ops.length)]!, [a]);
    }
    case 'binary':
    case 'bcast-binary': {
      if (a.dtype === 'bool') return p('max', [a, fit(pick(), a.shape, 'bool', next)]);
      const op = BINARY[next(float ? BINARY.length : BINARY.length - 1)]!;
      if (step.kind === 'binary') return p(op, [a, fit(pick(), a.shape, a.dtype, next)]);
      // A lower-rank operand with size-1 dims, broadcast up to a's shape.
      const drop = next(rank + 1);
      const small = a.shape.slice(drop).map((d) => (next(2) ? 1 : d));
      const b = p('broadcast', [fit(pick(), small, a.dtype, next)], { shape: a.shape });
      return next(2) ? p(op, [a, b]) : p(op, [b, a]);
    }
    case 'where': {
      const b = fit(pick(), a.shape, a.dtype, next);
      const c = a.dtype === 'bool' ? b : p(COMPARE[next(COMPARE.length)]!, [a, b]);
      return p('where', [c, a, fit(pick(), a.shape, a.dtype, next)]);
    }
    case 'reduce': {
      if (rank === 0) return null;
      const axes = a.shape.flatMap((_, k) => (next(2) ? [k] : []));
      if (axes.length === 0) axes.push(next(rank));
      if (a.dtype === 'bool' || next(2)) return p('reduceMax', [a], { axes });
      return p('sum', [a], { axes });
    }
    case 'reshape': {
      // regroup the dims: split each into factors or merge neighbours
      let dims = a.shape.flatMap((d) => {
        const f = [2, 3].find((q) => d % q === 0 && d > q && next(2));
        return f ? [f, d / f] : [d];
      });
      if (dims.length > 1 && next(2)) {
        const k = next(dims.length - 1);
        dims = [...dims.slice(0, k), dims[k]! * dims[k + 1]!, ...dims.slice(k + 2)];
      }
      if (next(4) === 0) dims = [...dims, 1];
      return dims.length > 5 ? p('reshape', [a], { shape: [a.size] }) : p('reshape', [a], { shape: dims });
    }
    case 'transpose': {
      const perm = a.shape.map((_, k) => k);
      for (let k = perm.length - 1; k > 0; k--) {
        const j = next(k + 1);
        [perm[k], perm[j]] = [perm[j]!, perm[k]!];
      }
      return p('transpose', [a], { perm });
    }
    case 'slice': {
      if (a.size === 0) return null;
      const start = a.shape.map((d) => next(d));
      const end = a.shape.map((d, k) => start[k]! + 1 + next(d - start[k]!));
      return p('slice', [a], { start, end, step: a.shape.map(() => 1 + next(3)) });
    }
    case 'pad': {
      const lo = a.shape.map(() => next(3));
      const hi = a.shape.map(() => next(3));
      const interior = a.shape.map(() => (next(3) === 0 ? next(3) : 0));
      const value = a.dtype === 'bool' ? next(2) : [0, 1.5, -2, -Infinity][next(a.dtype === 'int32' ? 3 : 4)]!;
      const out = a.shape.map((d, k) => lo[k]! + hi[k]! + d + Math.max(0, d - 1) * interior[k]!);
      return size(out) > MAX_SIZE ? null : p('pad', [a], { lo, hi, interior, value });
    }
    case 'concat': {
      if (rank === 0) return null;
      const axis = next(rank);
      const shape = a.shape.map((d, k) => (k === axis ? 1 + next(3) : d));
      const b = fit(pick(), shape, a.dtype, next);
      return p('concat', next(2) ? [a, b] : [b, a, fit(pick(), shape, a.dtype, next)], { axis });
    }
    case 'broadcast': {
      const shape = [1 + next(3), ...a.shape.map((d) => (d === 1 ? 1 + next(3) : d))];
      return size(shape) > MAX_SIZE || shape.length > 5 ? null : p('broadcast', [a], { shape });
    }
    case 'dot': {
      const dt = float ? a.dtype : base;
      if (dt === 'bool') return null;
      const [M, K, N] = [1 + next(4), 1 + next(4), 1 + next(4)];
      const batch = next(2) ? [1 + next(2)] : [];
      return p('dot', [fit(a, [...batch, M, K], dt, next), fit(pick(), [...batch, K, N], dt, next)]);
    }
    case 'conv': {
      const dt = float ? a.dtype : base === 'int32' ? null : base;
      if (!dt) return null;
      const groups = 1 + next(2);
      const [N, Cg, H, W, Og, KH, KW] = [1 + next(2), 1 + next(2), 3 + next(3), 3 + next(3), 1 + next(2), 1 + next(3), 1 + next(3)];
      const params = {
        stride: [1 + next(2), 1 + next(2)],
        padding: [[next(2), next(2)], [next(2), next(2)]],
        dilation: [1 + next(2), 1],
        groups,
      };
      const x = fit(a, [N, Cg * groups, H, W], dt, next);
      const w = fit(pick(), [Og * groups, Cg, KH, KW], dt, next);
      try {
        return p('conv2d', [x, w], params);
      } catch {
        return null; // the kernel does not fit the input
      }
    }
    case 'cast': {
      const to: DType[] = ['float32', 'float64', 'int32', 'bool'];
      return p('cast', [a], { dtype: to[next(4)]! });
    }
  }
}

/** Runs the steps on tracers; the outputs are the last values and one earlier one. */
function program(steps: readonly Step[], base: DType, pick: number) {
  return (...inputs: Tensor[]): Tensor[] => {
    const pool = [...inputs];
    for (const s of steps) {
      const t = apply(s, pool, base);
      if (t && t.size <= MAX_SIZE && t.shape.length <= 5) pool.push(t);
    }
    return [pool[pool.length - 1]!, pool[pool.length - 2] ?? pool[0]!, pool[pick % pool.length]!];
  };
}

// elementwise steps and reductions twice as often as the rest
const stepArb = fc.record({ kind: fc.constantFrom(...KINDS, 'unary', 'binary', 'bcast-binary', 'reduce', 'where'), r: fc.array(fc.nat(1000), { minLength: 12, maxLength: 12 }) });
const shapeArb = fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 0, maxLength: 3 });
const caseArb = fc.record({
  dtype: fc.constantFrom<DType>('float32', 'float64', 'int32'),
  shapes: fc.array(shapeArb, { minLength: 1, maxLength: 3 }),
  steps: fc.array(stepArb, { minLength: 1, maxLength: 10 }),
  pick: fc.nat(20),
  seed: fc.nat(),
});

function inputsFor(shapes: number[][], dtype: DType, seed: number): Tensor[] {
  const r = rng(seed);
  return shapes.map((shape) => {
    const n = size(shape);
    if (dtype === 'int32') return tensor(Int32Array.from({ length: n }, () => Math.floor(r() * 11) - 5), { shape });
    const data = dtype === 'float32' ? new Float32Array(n) : new Float64Array(n);
    for (let i = 0; i < n; i++) data[i] = (r() - 0.5) * 6;
    return tensor(data, { shape, dtype });
  });
}

const check = (g: Graph, inputs: Tensor[], label: string) => checkAgainstOracle(g, inputs.map((t) => t.data()), label);

describe('random programs: scheduled + interpreted equals the oracle', () => {
  it('on the traced graph and on its optimised (jit) form', () => {
    fc.assert(
      fc.property(caseArb, ({ dtype, shapes, steps, pick, seed }) => {
        const inputs = inputsFor(shapes, dtype, seed);
        const g = makeGraph(program(steps, dtype, pick))(...inputs);
        check(g, inputs, 'traced');
        check(optimizeGraph(g), inputs, 'optimised');
      }),
      { numRuns: 2 * (fc.readConfigureGlobal().numRuns ?? 30) },
    );
  });

  it('on the gradients of float programs', () => {
    fc.assert(
      fc.property(caseArb, ({ dtype, shapes, steps, pick, seed }) => {
        const dt = dtype === 'int32' ? 'float64' : dtype;
        const inputs = inputsFor(shapes, dt, seed);
        const f = program(steps, dt, pick);
        // A scalar loss of the float outputs (weighted, so cotangents differ per output).
        const loss = (...xs: Tensor[]) => {
          const outs = f(...xs).filter((t) => t.dtype === 'float32' || t.dtype === 'float64');
          let acc = sum(p('cast', [xs[0]!], { dtype: dt }));
          outs.forEach((o, k) => (acc = p('add', [acc, p('mul', [sum(p('cast', [o], { dtype: dt })), p('cast', [sum(xs[0]!)], { dtype: dt })])]), void k));
          return acc;
        };
        const g = makeGraph(grad(loss, { argnums: inputs.map((_, k) => k) }))(...inputs);
        check(optimizeGraph(g), inputs, 'gradient');
      }),
    );
  });
});
