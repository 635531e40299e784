// Transform laws on random programs (jit(f) == f, grad(jit(f)) == grad(f) == jit(grad(f)),
// gradients against finite differences, jvp/vjp dot-product consistency), then the jit cache,
// trees, nesting of transformations, argnums/hasAux, vjp/jvp, stopGradient and makeGraph.
import { describe, expect, it } from 'vitest';
import { fc, test } from '@fast-check/vitest';
import {
  add, concat, cos, div, evalGraphOracle, exp, grad, greater, jit, jvp, log, logSoftmax, makeGraph, matmul, max, maximum,
  mean, minimum, mul, neg, ones, pad, pow, reciprocal, reshape, rsqrt, sigmoid, sin, slice, softmax, softplus, sqrt, square,
  stack, stopGradient, sub, sum, tanh, tensor, transpose, valueAndGrad, vjp, where, zeros, broadcastTo, cast, relu,
  crossEntropy, conv2d, argmax, Graph, Tensor, type TypedArray,
} from '@resgrad/core';

// ---------------------------------------------------------------------------------------------
// Helpers

function mulberry32(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const sizeOf = (s: readonly number[]) => s.reduce((p, d) => p * d, 1);
const f64 = (values: number[] | Float64Array, shape: readonly number[]) => tensor(Float64Array.from(values), { shape });
const randT = (rng: () => number, shape: readonly number[], lo = -2, hi = 2) =>
  f64(Array.from({ length: sizeOf(shape) }, () => lo + (hi - lo) * rng()), shape);

/** Same shape and dtype, values equal up to a relative tolerance (NaN equals NaN). */
function expectClose(got: Tensor, want: Tensor, rtol = 1e-10, label = '') {
  expect(got.shape, `${label} shape`).toEqual(want.shape);
  expect(got.dtype, `${label} dtype`).toBe(want.dtype);
  const g = got.data();
  const w = want.data();
  for (let i = 0; i < w.length; i++) {
    const a = g[i]!;
    const b = w[i]!;
    if (Number.isNaN(b) || !Number.isFinite(b)) {
      expect(Object.is(a, b) || (Number.isNaN(a) && Number.isNaN(b)), `${label}[${i}]: ${a} vs ${b}`).toBe(true);
      continue;
    }
    const ok = Math.abs(a - b) <= rtol * (1 + Math.abs(b));
    if (!ok) expect.fail(`${label}[${i}]: got ${a}, want ${b} (rtol ${rtol})`);
  }
}

const dot = (a: TypedArray, b: TypedArray) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
};

// ---------------------------------------------------------------------------------------------
// Random programs: a small expression DAG over 1-3 float64 inputs of broadcastable shapes.

type Shape = readonly number[];
interface Instr {
  name: string;
  args: number[];
  shape: Shape;
  run: (xs: Tensor[]) => Tensor;
}
interface Program {
  inputShapes: Shape[];
  instrs: Instr[];
  outputs: number[];
  seed: number;
  /** Evaluates the program: one tensor per output node. */
  f: (...xs: Tensor[]) => Tensor[];
  text: string;
}

interface Step {
  op: number;
  a: number;
  b: number;
  p: number;
}

const MAX_SIZE = 96;

const UNARY: [string, (x: Tensor) => Tensor][] = [
  ['exp(tanh)', (x) => exp(tanh(x))],
  ['tanh', tanh],
  ['sin', sin],
  ['cos', cos],
  ['log(x^2+1/2)', (x) => log(add(mul(x, x), 0.5))],
  ['sqrt(x^2+1)', (x) => sqrt(add(square(x), 1))],
  ['rsqrt(x^2+1)', (x) => rsqrt(add(square(x), 1))],
  ['reciprocal(x^2+1)', (x) => reciprocal(add(square(x), 1))],
  ['sigmoid', sigmoid],
  ['softplus', softplus],
  ['neg', neg],
  ['x*1.5-0.25', (x) => sub(mul(x, 1.5), 0.25)],
];

const BINARY: [string, (a: Tensor, b: Tensor) => Tensor][] = [
  ['add', add],
  ['sub', sub],
  ['mul', mul],
  ['div', (a, b) => div(a, add(square(b), 1))],
  ['maximum', maximum],
  ['minimum', minimum],
  ['where(a>b)', (a, b) => where(greater(a, b), a, mul(b, 2))],
  ['pow', (a, b) => pow(add(square(a), 0.5), tanh(b))],
];

function broadcastable(a: Shape, b: Shape): boolean {
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a[a.length - n + i] ?? 1;
    const y = b[b.length - n + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1) return false;
  }
  return true;
}
const bshape = (a: Shape, b: Shape) => {
  const n = Math.max(a.length, b.length);
  return Array.from({ length: n }, (_, i) => Math.max(a[a.length - n + i] ?? 1, b[b.length - n + i] ?? 1));
};
const same = (a: Shape, b: Shape) => a.length === b.length && a.every((d, i) => d === b[i]);

/** One instruction from a step's random choices, or null when the op does not apply. */
function makeInstr(step: Step, shapes: Shape[], constRng: () => number): Instr | null {
  const rng = mulberry32(step.p);
  const int = (n: number) => Math.floor(rng() * n);
  const a = step.a % shapes.length;
  const s = shapes[a]!;
  const r = s.length;
  const n = sizeOf(s);
  const partner = (ok: (t: Shape) => boolean) => {
    const cands = shapes.map((t, i) => [t, i] as const).filter(([t]) => ok(t));
    return cands.length ? cands[step.b % cands.length]![1] : a;
  };
  switch (step.op % 13) {
    case 0:
    case 1: {
      const [name, fn] = UNARY[step.b % UNARY.length]!;
      return { name, args: [a], shape: s, run: ([x]) => fn(x!) };
    }
    case 2:
    case 3: {
      const [name, fn] = BINARY[step.b % BINARY.length]!;
      const b = partner((t) => broadcastable(s, t));
      return { name, args: [a, b], shape: bshape(s, shapes[b]!), run: ([x, y]) => fn(x!, y!) };
    }
    case 4: {
      if (r === 0) return null;
      const mask = int(2 ** r);
      const axes = mask ? Array.from({ length: r }, (_, i) => i).filter((i) => (mask >> i) & 1) : undefined;
      const keepDims = int(2) === 1;
      const kind = int(3);
      const red = [sum, mean, max][kind]!;
      const ax = axes ?? s.map((_, i) => i);
      const shape = keepDims ? s.map((d, i) => (ax.includes(i) ? 1 : d)) : s.filter((_, i) => !ax.includes(i));
      const axesArg = axes && int(2) ? axes.map((x) => x - r) : axes; // negative axes too
      return { name: `${['sum', 'mean', 'max'][kind]}(axes=${JSON.stringify(axesArg)}, keepDims=${keepDims})`, args: [a], shape, run: ([x]) => red(x!, axesArg, { keepDims }) };
    }
    case 5: {
      // flatten, insert a unit axis, or merge two neighbouring axes; sometimes with a -1
      const kind = int(3);
      let shape: number[];
      if (kind === 1) {
        const at = int(r + 1);
        shape = [...s.slice(0, at), 1, ...s.slice(at)];
      } else if (kind === 2 && r >= 2) {
        const i = int(r - 1);
        shape = [...s.slice(0, i), s[i]! * s[i + 1]!, ...s.slice(i + 2)];
      } else shape = [n];
      const minus = int(shape.length + 1);
      const target = shape.map((d, i) => (i === minus ? -1 : d));
      return { name: `reshape(${JSON.stringify(target)})`, args: [a], shape, run: ([x]) => reshape(x!, target) };
    }
    case 6: {
      if (r < 2) return null;
      const perm = Array.from({ length: r }, (_, i) => i);
      for (let i = r - 1; i > 0; i--) {
        const j = int(i + 1);
        [perm[i], perm[j]] = [perm[j]!, perm[i]!];
      }
      return { name: `transpose(${JSON.stringify(perm)})`, args: [a], shape: perm.map((p) => s[p]!), run: ([x]) => transpose(x!, perm) };
    }
    case 7: {
      if (r === 0 || n === 0) return null;
      const begin: (number | null)[] = [];
      const end: (number | null)[] = [];
      const steps: number[] = [];
      const shape: number[] = [];
      for (const d of s) {
        const b = int(d);
        const e = b + 1 + int(d - b);
        const st = 1 + int(2);
        begin.push(int(4) === 0 ? null : int(2) ? b - d : b);
        end.push(int(4) === 0 && e === d ? null : e);
        steps.push(st);
        shape.push(Math.ceil((e - (begin[begin.length - 1] === null ? 0 : b)) / st));
      }
      return { name: `slice(${JSON.stringify([begin, end, steps])})`, args: [a], shape, run: ([x]) => slice(x!, begin, end, steps) };
    }
    case 8: {
      const widths = s.map(() => [int(3), int(3)] as [number, number]);
      const value = int(2) ? 0 : 0.5;
      return { name: `pad(${JSON.stringify(widths)}, ${value})`, args: [a], shape: s.map((d, i) => d + widths[i]![0] + widths[i]![1]), run: ([x]) => pad(x!, widths, value) };
    }
    case 9: {
      if (r === 0) return null;
      const axis = int(r);
      const b = partner((t) => t.length === r && t.every((d, i) => i === axis || d === s[i]));
      const shape = s.map((d, i) => (i === axis ? d + shapes[b]![i]! : d));
      const negAxis = int(2) ? axis - r : axis;
      if (int(3) === 0) {
        // stack needs equal shapes
        const c = partner((t) => same(t, s));
        const at = int(r + 1);
        return { name: `stack(axis=${at})`, args: [a, c], shape: [...s.slice(0, at), 2, ...s.slice(at)], run: ([x, y]) => stack([x!, y!], at) };
      }
      return { name: `concat(axis=${negAxis})`, args: [a, b], shape, run: ([x, y]) => concat([x!, y!], negAxis) };
    }
    case 10: {
      if (r === 0) return null;
      if (int(2) === 0) {
        // by a captured constant matrix
        const k = s[r - 1]!;
        const m = 1 + int(3);
        const w = randT(constRng, [k, m], -1, 1);
        return { name: `matmul(const[${k}, ${m}])`, args: [a], shape: [...s.slice(0, -1), m], run: ([x]) => matmul(x!, w) };
      }
      const b = partner((t) => same(t, s));
      if (r === 1) return { name: 'matmul(vec, vec)', args: [a, b], shape: [], run: ([x, y]) => matmul(x!, y!) };
      const perm = s.map((_, i) => i);
      [perm[r - 1], perm[r - 2]] = [r - 2, r - 1];
      return { name: 'matmul(a, b^T)', args: [a, b], shape: [...s.slice(0, -1), s[r - 2]!], run: ([x, y]) => matmul(x!, transpose(y!, perm)) };
    }
    case 11: {
      if (r === 0) return null;
      const axis = int(r) - (int(2) ? r : 0);
      const lsm = int(2) === 1;
      return { name: `${lsm ? 'logSoftmax' : 'softmax'}(axis=${axis})`, args: [a], shape: s, run: ([x]) => (lsm ? logSoftmax(x!, axis) : softmax(x!, axis)) };
    }
    case 12: {
      const lead = 1 + int(3);
      const shape = [lead, ...s.map((d) => (d === 1 ? 1 + int(3) : d))];
      return { name: `broadcastTo(${JSON.stringify(shape)})`, args: [a], shape, run: ([x]) => broadcastTo(x!, shape) };
    }
  }
  return null;
}

function buildProgram(spec: { base: number[]; inputs: { drop: number; ones: number }[]; steps: Step[]; seed: number }): Program {
  const inputShapes: Shape[] = spec.inputs.map(({ drop, ones: mask }) =>
    spec.base.slice(Math.min(drop, spec.base.length)).map((d, i) => (mask >= 8 && (mask >> i) & 1 ? 1 : d)),
  );
  const shapes: Shape[] = [...inputShapes];
  const instrs: Instr[] = [];
  const constRng = mulberry32(spec.seed ^ 0x5bd1e995);
  for (const step of spec.steps) {
    let ins = makeInstr(step, shapes, constRng);
    if (!ins || sizeOf(ins.shape) > MAX_SIZE || sizeOf(ins.shape) === 0) {
      const a = step.a % shapes.length;
      ins = { name: 'tanh', args: [a], shape: shapes[a]!, run: ([x]) => tanh(x!) };
    }
    shapes.push(ins.shape);
    instrs.push(ins);
  }
  const nIn = inputShapes.length;
  const used = new Set(instrs.flatMap((i) => i.args));
  const sinks = instrs.map((_, k) => nIn + k).filter((v) => !used.has(v));
  const last = nIn + instrs.length - 1;
  const outputs = [...new Set([last, ...sinks.slice(-2)])];
  const f = (...xs: Tensor[]) => {
    const vals = [...xs];
    for (const ins of instrs) vals.push(ins.run(ins.args.map((i) => vals[i]!)));
    return outputs.map((o) => vals[o]!);
  };
  const name = (v: number) => (v < nIn ? `in${v}` : `v${v}`);
  const text = [
    `inputs: ${inputShapes.map((s, i) => `in${i}${JSON.stringify(s)}`).join(', ')}`,
    ...instrs.map((ins, k) => `${name(nIn + k)}${JSON.stringify(ins.shape)} = ${ins.name}(${ins.args.map(name).join(', ')})`),
    `outputs: ${outputs.map(name).join(', ')}`,
  ].join('\n');
  // fast-check prints counterexamples with this.
  return { inputShapes, instrs, outputs, seed: spec.seed, f, text, [fc.toStringMethod]: () => `\n${text}\n(seed ${spec.seed})` } as Program;
}

// Unbiased choices, so that every op and operand is drawn about as often.
const stepArb = fc.noBias(fc.record({ op: fc.nat(12), a: fc.nat(99), b: fc.nat(99), p: fc.nat() }));
const programArb = fc
  .record({
    base: fc.noBias(fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 3 })),
    // Mostly the full rank; sometimes leading axes dropped or axes of size 1 (broadcasting).
    inputs: fc.noBias(fc.array(fc.record({ drop: fc.constantFrom(0, 0, 0, 0, 1, 2), ones: fc.nat(15) }), { minLength: 1, maxLength: 3 })),
    steps: fc.array(stepArb, { minLength: 2, maxLength: 10 }),
    seed: fc.nat(),
  })
  .map(buildProgram);

function inputsFor(p: Program): Tensor[] {
  const rng = mulberry32(p.seed);
  return p.inputShapes.map((s) => randT(rng, s));
}

/** A scalar loss over the program's outputs, weighted by fixed (captured) tensors. */
function lossFor(p: Program, f: (...xs: Tensor[]) => Tensor[] = p.f) {
  let weights: Tensor[] | undefined;
  return (...xs: Tensor[]) => {
    const outs = f(...xs);
    const rng = mulberry32(p.seed + 1);
    weights ??= outs.map((o) => randT(rng, o.shape, -1, 1));
    return outs.map((o, i) => sum(mul(o, weights![i]!))).reduce((s, t) => add(s, t));
  };
}

const allArgnums = (p: Program) => p.inputShapes.map((_, i) => i);

// ---------------------------------------------------------------------------------------------

describe('transform laws on random programs', () => {
  test.prop([programArb], { numRuns: 100 })('jit(f) equals f (and the lowered graph on the oracle equals f)', (p) => {
    const xs = inputsFor(p);
    const want = p.f(...xs);
    const jf = jit(p.f);
    const got = jf(...xs);
    expect(got).toHaveLength(want.length);
    got.forEach((g, i) => expectClose(g, want[i]!, 1e-10, `${p.text}\noutput ${i}`));
    // A second call hits the cache and gives the same values.
    const again = jf(...xs);
    again.forEach((g, i) => expectClose(g, want[i]!, 1e-10, `second call, output ${i}`));
    expect(jf.cacheSize).toBe(1);
    // The optimised graph jit compiles, run by the reference implementations directly.
    const g = jf.lower(...xs);
    const outs = evalGraphOracle(g, xs.map((x) => x.data()), g.constValues.map((c) => c.data()));
    // Outputs that are inputs or constants are not produced by the executable graph; every
    // output it does produce is one of f's outputs.
    expect(outs.length).toBeLessThanOrEqual(want.length);
    const near = (u: number, v: number) => (Number.isNaN(u) && Number.isNaN(v)) || u === v || Math.abs(u - v) <= 1e-10 * (1 + Math.abs(v));
    for (const o of outs) {
      const found = want.some((w) => w.size === o.length && Array.from(w.data()).every((v, i) => near(o[i]!, v)));
      expect(found, `${p.text}\nthe lowered graph's output ${Array.from(o)} is not an output of f`).toBe(true);
    }
  });

  test.prop([programArb], { numRuns: 100 })('grad(jit(f)) == grad(f) == jit(grad(f)) == finite differences', (p) => {
    const xs = inputsFor(p);
    const argnums = allArgnums(p);
    const loss = lossFor(p);
    const gEager = grad(loss, { argnums })(...xs) as Tensor[];
    const gJitInside = grad(lossFor(p, jit(p.f)), { argnums })(...xs) as Tensor[];
    const gJitOutside = jit(grad(loss, { argnums }))(...xs) as Tensor[];
    expect(gEager).toHaveLength(xs.length);
    gEager.forEach((g, i) => {
      expect(g.shape).toEqual(xs[i]!.shape);
      expectClose(gJitInside[i]!, g, 1e-10, `${p.text}\ngrad(jit(f)) arg ${i}`);
      expectClose(gJitOutside[i]!, g, 1e-10, `${p.text}\njit(grad(f)) arg ${i}`);
    });
    // Central differences in float64.
    const base = loss(...xs).item();
    fc.pre(Number.isFinite(base) && Math.abs(base) < 1e8);
    const h = 1e-6;
    xs.forEach((x, i) => {
      const d = x.data() as Float64Array;
      const g = gEager[i]!.data();
      const scale = Math.max(1, ...Array.from(g, Math.abs));
      for (let j = 0; j < d.length; j++) {
        const at = (delta: number) => {
          const e = Float64Array.from(d);
          e[j]! += delta;
          const args = xs.slice();
          args[i] = f64(e, x.shape);
          return loss(...args).item();
        };
        const fd = (at(h) - at(-h)) / (2 * h);
        const err = Math.abs(fd - g[j]!) / scale;
        if (!(err < 1e-5)) expect.fail(`${p.text}\nd loss / d in${i}[${j}]: grad ${g[j]}, finite differences ${fd}`);
      }
    });
  });

  test.prop([programArb], { numRuns: 100 })('jvp and vjp agree: <u, J v> = <J^T u, v>', (p) => {
    const xs = inputsFor(p);
    const rng = mulberry32(p.seed + 7);
    const vs = p.inputShapes.map((s) => randT(rng, s, -1, 1));
    const [ys, back] = vjp(p.f, ...xs);
    const [ys2, jv] = jvp(p.f, xs, vs) as [Tensor[], Tensor[]];
    const us = (ys as Tensor[]).map((y) => randT(rng, y.shape, -1, 1));
    (ys as Tensor[]).forEach((y, i) => expectClose(ys2[i]!, y, 1e-12, 'jvp primal output'));
    const jtu = back(us) as Tensor[];
    const lhs = us.reduce((s, u, i) => s + dot(u.data(), jv[i]!.data()), 0);
    const rhs = vs.reduce((s, v, i) => s + dot(v.data(), jtu[i]!.data()), 0);
    fc.pre(Number.isFinite(lhs) && Number.isFinite(rhs));
    expect(Math.abs(lhs - rhs), `${p.text}\n<u, Jv> = ${lhs}, <J^T u, v> = ${rhs}`).toBeLessThanOrEqual(1e-9 * (1 + Math.abs(lhs)));
  });

  test.prop([programArb])('makeGraph lists the inputs with their shapes and one equation per primitive', (p) => {
    const xs = inputsFor(p);
    const g = makeGraph(p.f)(...xs);
    expect(g).toBeInstanceOf(Graph);
    expect(g.inputs.map((v) => v.aval.shape)).toEqual(p.inputShapes);
    expect(g.outputs.map((v) => v.aval.shape)).toEqual(p.outputs.map((o) => (o < xs.length ? p.inputShapes[o] : p.instrs[o - xs.length]!.shape)));
    const text = String(g);
    const lines = text.split('\n');
    expect(lines[0]).toMatch(/^\{ lambda /);
    for (const s of p.inputShapes) expect(lines[0]).toContain(`f64[${s.join(', ')}]`);
    expect(lines.at(-1)).toMatch(/^ {2}in \(.*\) \}$/);
    expect(lines.length).toBe(g.eqns.length + 2);
    g.eqns.forEach((e, k) => expect(lines[k + 1]).toContain(` = ${e.prim}`));
  });
});

// ---------------------------------------------------------------------------------------------

describe('jit', () => {
  const x = tensor([1, 2, 3], { dtype: 'float64' });

  it('caches by signature: same shapes hit, new shapes, dtypes and structures retrace', () => {
    let traces = 0;
    const f = jit((a: Tensor) => {
      traces++;
      return mul(a, 2);
    });
    expect(f(x).toArray()).toEqual([2, 4, 6]);
    expect(f(tensor([4, 5, 6], { dtype: 'float64' })).toArray()).toEqual([8, 10, 12]);
    expect(f.cacheSize).toBe(1);
    expect(traces).toBe(1);
    f(tensor([1, 2], { dtype: 'float64' }));
    expect(f.cacheSize).toBe(2);
    f(tensor([1, 2, 3])); // float32
    expect(f.cacheSize).toBe(3);
    f(tensor([[1, 2, 3]], { dtype: 'float64' }));
    expect(f.cacheSize).toBe(4);
    expect(traces).toBe(4);
    f(x);
    f(tensor([1, 2]));
    expect(f.cacheSize).toBe(5);
    f(tensor([9, 9]));
    expect(traces).toBe(5);
  });

  it('static arguments are part of the key', () => {
    let traces = 0;
    const f = jit(
      (a: Tensor, n: number, mode: string) => {
        traces++;
        return mode === 'pow' ? pow(a, n) : mul(a, n);
      },
      { staticArgnums: [1, 2] },
    );
    expect(f(x, 2, 'mul').toArray()).toEqual([2, 4, 6]);
    expect(f(x, 2, 'mul').toArray()).toEqual([2, 4, 6]);
    expect(f.cacheSize).toBe(1);
    expect(f(x, 3, 'mul').toArray()).toEqual([3, 6, 9]);
    expect(f.cacheSize).toBe(2);
    expect(f(x, 2, 'pow').toArray()).toEqual([1, 4, 9]);
    expect(f.cacheSize).toBe(3);
    expect(f(x, 3, 'mul').toArray()).toEqual([3, 6, 9]);
    expect(f.cacheSize).toBe(3);
    expect(traces).toBe(3);
  });

  it('numbers in dynamic trees are part of the key too', () => {
    const f = jit((cfg: { scale: number; t: Tensor }) => mul(cfg.t, cfg.scale));
    expect(f({ scale: 2, t: x }).toArray()).toEqual([2, 4, 6]);
    expect(f({ scale: 3, t: x }).toArray()).toEqual([3, 6, 9]);
    expect(f.cacheSize).toBe(2);
  });

  it('takes and returns trees: nested objects and arrays, static leaves kept', () => {
    const f = jit((p: { w: Tensor; b: Tensor[] }, n: number) => ({
      out: [add(p.w, p.b[0]!), mul(p.w, n)],
      tag: 'x',
      nothing: null,
      passthrough: p.b[1],
      nested: { sum: sum(p.w) },
    }), { staticArgnums: [1] });
    const c = tensor([10, 20, 30], { dtype: 'float64' });
    const r = f({ w: x, b: [c, c] }, 3);
    expect(r.out[0]!.toArray()).toEqual([11, 22, 33]);
    expect(r.out[1]!.toArray()).toEqual([3, 6, 9]);
    expect(r.tag).toBe('x');
    expect(r.nothing).toBe(null);
    expect(r.passthrough!.toArray()).toEqual([10, 20, 30]);
    expect(r.nested.sum.item()).toBe(6);
    // Another structure retraces.
    f({ w: x, b: [c] } as never, 3);
    expect(f.cacheSize).toBe(2);
  });

  it('returns an input, or a captured constant, unchanged', () => {
    const c = tensor([7, 8], { dtype: 'float64' });
    const id = jit((a: Tensor) => a);
    expect(id(x).toArray()).toEqual([1, 2, 3]);
    const k = jit((a: Tensor) => [c, a, add(a, 1), a]);
    const [c1, a1, b1, a2] = k(x);
    expect(c1!.toArray()).toEqual([7, 8]);
    expect(a1!.toArray()).toEqual([1, 2, 3]);
    expect(a2!.toArray()).toEqual([1, 2, 3]);
    expect(b1!.toArray()).toEqual([2, 3, 4]);
    // A function of no tensors at all.
    const z = jit(() => ones([2]));
    expect(z().toArray()).toEqual([1, 1]);
    expect(z().toArray()).toEqual([1, 1]);
  });

  it('the same output twice, and an output that is also an intermediate', () => {
    const f = jit((a: Tensor) => {
      const e = exp(a);
      return { e, twice: [e, e], s: sum(e) };
    });
    const r = f(x);
    expect(r.twice[0]!.toArray()).toEqual(r.e.toArray());
    expect(r.twice[1]!.toArray()).toEqual(r.e.toArray());
    expect(r.s.item()).toBeCloseTo(Math.E + Math.E ** 2 + Math.E ** 3, 12);
  });

  it('int and bool outputs, and the same tensor passed as two arguments', () => {
    const f = jit((a: Tensor, b: Tensor) => ({ idx: argmax(a, 0), big: greater(a, 1), diff: sub(a, b) }));
    const r = f(x, x);
    expect(r.idx.dtype).toBe('int32');
    expect(r.idx.item()).toBe(2);
    expect(r.big.toArray()).toEqual([false, true, true]);
    expect(r.diff.toArray()).toEqual([0, 0, 0]);
    const [ga, gb] = grad((a: Tensor, b: Tensor) => sum(mul(a, b)), { argnums: [0, 1] })(x, x) as Tensor[];
    expect(ga!.toArray()).toEqual([1, 2, 3]);
    expect(gb!.toArray()).toEqual([1, 2, 3]);
  });

  it('outputs are fresh tensors: disposing one leaves the next call intact', () => {
    const f = jit((a: Tensor) => mul(a, 2));
    const y1 = f(x);
    y1.dispose();
    expect(f(x).toArray()).toEqual([2, 4, 6]);
  });

  it('captured constants are read at trace time', () => {
    let c = tensor([1, 1, 1], { dtype: 'float64' });
    const f = jit((a: Tensor) => add(a, c));
    expect(f(x).toArray()).toEqual([2, 3, 4]);
    c = tensor([5, 5, 5], { dtype: 'float64' });
    // Cached: the first constant is baked in (as in JAX).
    expect(f(x).toArray()).toEqual([2, 3, 4]);
  });

  it('lower() gives the optimised graph: no dead code', () => {
    const f = jit((a: Tensor) => {
      exp(a); // dead
      const s = sin(a);
      return add(s, s);
    });
    const g = f.lower(x);
    const prims = g.eqns.map((e) => e.prim);
    expect(prims).not.toContain('exp');
    expect(prims).toContain('sin');
    expect(prims.filter((p) => p === 'sin')).toHaveLength(1);
    expect(String(g)).toContain('f64[3]');
  });
});

describe('nesting transformations', () => {
  const x = tensor([0.5, -1, 2], { dtype: 'float64' });
  const fsin = (a: Tensor) => sum(mul(sin(a), a));
  const dfsin = (v: number) => Math.cos(v) * v + Math.sin(v);

  it('jit inside grad', () => {
    const g = grad((a: Tensor) => jit(fsin)(a))(x);
    g.data().forEach((v: number, i: number) => expect(v).toBeCloseTo(dfsin(x.data()[i]!), 12));
  });

  it('grad inside jit', () => {
    const jg = jit((a: Tensor) => grad(fsin)(a));
    const g = jg(x);
    g.data().forEach((v: number, i: number) => expect(v).toBeCloseTo(dfsin(x.data()[i]!), 12));
    expect(jg.cacheSize).toBe(1);
    jg(x);
    expect(jg.cacheSize).toBe(1);
  });

  it('jit(grad(jit(f))) and grad of a jitted function with a captured constant', () => {
    const c = tensor([1, 2, 3], { dtype: 'float64' });
    const f = jit((a: Tensor) => sum(mul(mul(a, a), c)));
    const g = jit(grad(f))(x);
    expect(Array.from(g.data())).toEqual([1, -4, 12]);
  });

  it('grad(grad(f)) against analytic second derivatives', () => {
    const pts = tensor([-1.3, -0.2, 0.4, 1.7], { dtype: 'float64' });
    const d2 = (f: (a: Tensor) => Tensor) => grad((a: Tensor) => sum(grad((b: Tensor) => sum(f(b)))(a)))(pts);
    const check = (f: (a: Tensor) => Tensor, want: (v: number) => number) =>
      d2(f)
        .data()
        .forEach((v: number, i: number) => expect(v).toBeCloseTo(want(pts.data()[i]!), 10));
    check(sin, (v) => -Math.sin(v));
    check(exp, (v) => Math.exp(v));
    check((a) => mul(mul(a, a), a), (v) => 6 * v);
    check(softplus, (v) => Math.exp(v) / (1 + Math.exp(v)) ** 2);
    check(tanh, (v) => -2 * Math.tanh(v) * (1 - Math.tanh(v) ** 2));
    // Third derivative of x^4: 24 x.
    const d3 = grad((a: Tensor) => sum(grad((b: Tensor) => sum(grad((c: Tensor) => sum(pow(c, 4)))(b)))(a)))(pts);
    d3.data().forEach((v: number, i: number) => expect(v).toBeCloseTo(24 * pts.data()[i]!, 9));
  });

  it('grad(grad(f)) under jit equals eager', () => {
    const f = (a: Tensor) => sum(grad((b: Tensor) => sum(mul(exp(b), sin(b))))(a));
    expectClose(jit(grad(f))(x), grad(f)(x), 1e-12);
  });

  it('the Hessian-vector product through grad of a vjp', () => {
    // f(a) = sum(a^3): H = diag(6a), Hv = 6 a v.
    const v = tensor([1, 2, 3], { dtype: 'float64' });
    const hv = grad((a: Tensor) => sum(mul(grad((b: Tensor) => sum(pow(b, 3)))(a), v)))(x);
    expect(Array.from(hv.data())).toEqual([3, -12, 36]);
  });
});

describe('grad options', () => {
  const a = tensor([1, 2, 3], { dtype: 'float64' });
  const b = tensor([4, 5, 6], { dtype: 'float64' });
  const f = (x: Tensor, y: Tensor) => sum(mul(mul(x, x), y));

  it('argnums: a number gives one gradient, a list gives a list', () => {
    expect(grad(f)(a, b).toArray()).toEqual([8, 20, 36]);
    expect(grad(f, { argnums: 1 })(a, b).toArray()).toEqual([1, 4, 9]);
    const [ga, gb] = grad(f, { argnums: [0, 1] })(a, b) as Tensor[];
    expect(ga!.toArray()).toEqual([8, 20, 36]);
    expect(gb!.toArray()).toEqual([1, 4, 9]);
    const [gb2, ga2] = grad(f, { argnums: [1, 0] })(a, b) as Tensor[];
    expect(gb2!.toArray()).toEqual([1, 4, 9]);
    expect(ga2!.toArray()).toEqual([8, 20, 36]);
  });

  it('gradients of trees have the tree structure; unused leaves get zeros', () => {
    const params = { w: a, layers: [{ b }, { b: tensor([1], { dtype: 'float64' }) }] };
    const g = grad((p: typeof params, scale: number) => mul(sum(mul(p.w, p.layers[0]!.b)), scale))(params, 2) as typeof params;
    expect(g.w.toArray()).toEqual([8, 10, 12]);
    expect(g.layers[0]!.b.toArray()).toEqual([2, 4, 6]);
    expect(g.layers[1]!.b.toArray()).toEqual([0]);
  });

  it('hasAux passes aux through undifferentiated', () => {
    const [g, aux] = grad((x: Tensor) => [sum(square(x)), { double: mul(x, 2), label: 'hi' }], { hasAux: true })(a) as [Tensor, { double: Tensor; label: string }];
    expect(g.toArray()).toEqual([2, 4, 6]);
    expect(aux.double.toArray()).toEqual([2, 4, 6]);
    expect(aux.label).toBe('hi');
  });

  it('valueAndGrad gives both, with argnums and hasAux', () => {
    const [v, g] = valueAndGrad(f)(a, b);
    expect(v.item()).toBe(4 + 20 + 54);
    expect(g.toArray()).toEqual([8, 20, 36]);
    const [[v2, aux], gs] = valueAndGrad((x: Tensor, y: Tensor) => [f(x, y), sub(x, y)], { argnums: [0, 1], hasAux: true })(a, b);
    expect(v2.item()).toBe(78);
    expect(aux.toArray()).toEqual([-3, -3, -3]);
    expect(gs[1].toArray()).toEqual([1, 4, 9]);
  });

  it('integer arguments may be passed when not differentiated', () => {
    const labels = tensor([0, 2], { dtype: 'int32' });
    const logits = tensor([[1, 2, 3], [1, 1, 1]], { dtype: 'float64' });
    const g = grad((z: Tensor, y: Tensor) => crossEntropy(z, y))(logits, labels);
    expect(g.shape).toEqual([2, 3]);
    // Each row of the softmax cross-entropy gradient sums to zero.
    sum(g, 1).data().forEach((v: number) => expect(Math.abs(v)).toBeLessThan(1e-15));
  });

  it('the gradient of a float32 function is float32', () => {
    const g = grad((x: Tensor) => sum(exp(x)))(tensor([0, 1]));
    expect(g.dtype).toBe('float32');
    expect(g.toArray()).toEqual([1, Math.fround(Math.E)]);
  });
});

describe('vjp and jvp', () => {
  const a = tensor([1, 2, 3], { dtype: 'float64' });
  const b = tensor([4, 5, 6], { dtype: 'float64' });

  it('vjp on tree outputs takes cotangents shaped like the output', () => {
    const [y, back] = vjp((x: Tensor, z: Tensor) => ({ p: mul(x, z), q: [sum(x)], tag: 'static' }), a, b);
    expect(y.p.toArray()).toEqual([4, 10, 18]);
    expect(y.q[0].item()).toBe(6);
    expect(y.tag).toBe('static');
    const [ga, gb] = back({ p: ones([3], { dtype: 'float64' }), q: [tensor(2, { dtype: 'float64' })] });
    expect(ga.toArray()).toEqual([6, 7, 8]);
    expect(gb.toArray()).toEqual([1, 2, 3]);
    // The pullback can be called again with other cotangents.
    const [ga2] = back({ p: zeros([3], { dtype: 'float64' }), q: [tensor(1, { dtype: 'float64' })] });
    expect(ga2.toArray()).toEqual([1, 1, 1]);
  });

  it('vjp with a tree argument returns a tree cotangent', () => {
    const [, back] = vjp((p: { w: Tensor; v: Tensor[] }) => mul(p.w, p.v[0]!), { w: a, v: [b] });
    const [g] = back(ones([3], { dtype: 'float64' }));
    expect(g.w.toArray()).toEqual([4, 5, 6]);
    expect(g.v[0].toArray()).toEqual([1, 2, 3]);
  });

  it('jvp gives the directional derivative; tangents of trees', () => {
    const [y, dy] = jvp((x: Tensor) => sin(x), [a], [ones([3], { dtype: 'float64' })]);
    y.data().forEach((v: number, i: number) => expect(v).toBeCloseTo(Math.sin(a.data()[i]!), 14));
    dy.data().forEach((v: number, i: number) => expect(v).toBeCloseTo(Math.cos(a.data()[i]!), 14));
    const [out, tan] = jvp((p: { x: Tensor; y: Tensor }) => ({ s: sum(mul(p.x, p.y)) }), [{ x: a, y: b }], [{ x: ones([3], { dtype: 'float64' }), y: zeros([3], { dtype: 'float64' }) }]);
    expect(out.s.item()).toBe(32);
    expect(tan.s.item()).toBe(15);
  });

  it('jvp: integer outputs get zero tangents', () => {
    const [, t] = jvp((x: Tensor) => [cast(x, 'int32'), mul(x, 2)], [a], [ones([3], { dtype: 'float64' })]);
    expect(t[0].toArray()).toEqual([0, 0, 0]);
    expect(t[1].toArray()).toEqual([2, 2, 2]);
  });
});

describe('stopGradient', () => {
  const a = tensor([1, 2, 3], { dtype: 'float64' });
  it('keeps the value and blocks the gradient', () => {
    expect(stopGradient(a).toArray()).toEqual([1, 2, 3]);
    expect(grad((x: Tensor) => sum(mul(x, stopGradient(x))))(a).toArray()).toEqual([1, 2, 3]);
    expect(grad((x: Tensor) => sum(stopGradient(mul(x, x))))(a).toArray()).toEqual([0, 0, 0]);
  });
  it('under jit and in second derivatives', () => {
    expect(jit(grad((x: Tensor) => sum(mul(x, stopGradient(x)))))(a).toArray()).toEqual([1, 2, 3]);
    // d/dx [x * sg(x)] = sg(x) => second derivative 0.
    const h = grad((x: Tensor) => sum(grad((y: Tensor) => sum(mul(mul(y, y), stopGradient(y))))(x)))(a);
    expect(h.toArray()).toEqual([2, 4, 6]);
  });
  it('logSoftmax is shift-invariant in value and gradient thanks to it', () => {
    const z = tensor([[1000, 1001, 1002]], { dtype: 'float64' });
    const g = grad((x: Tensor) => sum(mul(logSoftmax(x), tensor([[1, 0, 0]], { dtype: 'float64' }))))(z);
    g.data().forEach((v: number) => expect(Number.isFinite(v)).toBe(true));
    expect(sum(g).item()).toBeCloseTo(0, 12);
  });
});

describe('makeGraph', () => {
  it('prints a jaxpr-like graph naming primitives, params and shapes', () => {
    const g = makeGraph((a: Tensor, b: Tensor) => sum(exp(matmul(a, b)), 1))(ones([2, 3]), ones([3, 4]));
    expect(String(g)).toBe(
      [
        '{ lambda a:f32[2, 3], b:f32[3, 4] .',
        '  c:f32[2, 4] = dot a b',
        '  d:f32[2, 4] = exp c',
        '  e:f32[2] = sum[axes=[1]] d',
        '  in (e) }',
      ].join('\n'),
    );
    expect(g.eqns.map((e) => e.prim)).toEqual(['dot', 'exp', 'sum']);
    expect(g.inputs.map((v) => v.aval)).toEqual([
      { shape: [2, 3], dtype: 'float32' },
      { shape: [3, 4], dtype: 'float32' },
    ]);
  });

  it('lists captured constants and weakly typed numbers as consts', () => {
    const c = tensor([1, 2, 3], { dtype: 'float64' });
    const g = makeGraph((a: Tensor) => mul(add(a, c), 2))(ones([3], { dtype: 'float64' }));
    const text = String(g);
    expect(text).toMatch(/^\{ lambda consts [a-z]+:f64\[3\], [a-z]+:f64\[\]; [a-z]+:f64\[3\] \./);
    expect(g.consts).toHaveLength(2);
    expect(g.constValues[0]).toBe(c);
    expect(text).toContain('broadcast[shape=[3]]');
    expect(text).toContain('= add ');
    expect(text).toContain('= mul ');
  });

  it('shows the backward pass of grad, and trees of inputs and outputs', () => {
    const g = makeGraph((p: { w: Tensor; x: Tensor }) => ({ g: grad((w: Tensor) => sum(tanh(mul(w, p.x))))(p.w) }))({
      w: ones([4], { dtype: 'float64' }),
      x: ones([4], { dtype: 'float64' }),
    });
    const prims = g.eqns.map((e) => e.prim);
    expect(prims).toContain('tanh');
    expect(prims.filter((p) => p === 'mul').length).toBeGreaterThanOrEqual(2);
    expect(g.inputs).toHaveLength(2);
    expect(g.outputs).toHaveLength(1);
    expect(g.outputs[0]!.aval).toEqual({ shape: [4], dtype: 'float64' });
  });

  it('names conv2d, reshape, transpose, slice, pad and concat with their params', () => {
    const g = makeGraph((x: Tensor, w: Tensor) => {
      const y = conv2d(x, w, { stride: 2, padding: 1 });
      const t = transpose(reshape(y, [2, 4]), [1, 0]);
      return concat([slice(t, [0, 1], [4, 2]), pad(t, [[0, 0], [1, 0]])], 1);
    })(ones([1, 1, 4, 4]), ones([2, 1, 3, 3]));
    const text = String(g);
    expect(text).toContain('conv2d[stride=[2,2] padding=[[1,1],[1,1]] dilation=[1,1] groups=1]');
    expect(text).toContain('reshape[shape=[2,4]]');
    expect(text).toContain('transpose[perm=[1,0]]');
    expect(text).toContain('slice[start=[0,1] end=[4,2] step=[1,1]]');
    expect(text).toContain('pad[lo=[0,1] hi=[0,0] interior=[0,0] value=0]');
    expect(text).toContain('concat[axis=1]');
    expect(text).toMatch(/f32\[1, 2, 2, 2\] = conv2d/);
  });

  it('relu and where appear as their primitives', () => {
    const text = String(makeGraph((x: Tensor) => relu(x))(ones([2])));
    expect(text).toContain('= gt ');
    expect(text).toContain('= where ');
    expect(text).toContain('bool[2]');
  });
});
