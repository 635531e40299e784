// The CUDA execution conformance checks, free of vitest so the GPU check bundle can run them
// too: each graph runs on a backend and is compared with the equation-by-equation oracle on
// the same deterministic inputs.
import { type DType, evalGraphOracle, type Graph, getBackend, optimizeGraph, type Tensor, type TypedArray } from '@resgrad/core';
import { primitivePrograms, randomGraphs, residualBlockGraphs } from './corpus.js';
import { epilogueGraphs } from './epilogue-corpus.js';

const ARRAY = { float32: Float32Array, float64: Float64Array, int32: Int32Array, bool: Uint8Array } as const;

/** Deterministic inputs: small integers for int32, 0/1 for bool, [-3, 3) for floats. */
export function inputsFor(g: Graph, seed: number): TypedArray[] {
  let s = seed >>> 0;
  const rnd = () => ((s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0) / 2 ** 32);
  return g.inputs.map((v) => {
    const n = v.aval.shape.reduce((a, b) => a * b, 1);
    const dt = v.aval.dtype as DType;
    const a = new ARRAY[dt](n);
    for (let i = 0; i < n; i++) a[i] = dt === 'int32' ? Math.floor(rnd() * 11) - 5 : dt === 'bool' ? (rnd() < 0.5 ? 1 : 0) : (rnd() - 0.5) * 6;
    return a;
  });
}

/** The first element of `got` that differs from `want` beyond `tol` (relative, at least absolute), or null. */
export function mismatch(got: TypedArray, want: TypedArray, tol: number): string | null {
  if (got.length !== want.length) return `length ${got.length}, expected ${want.length}`;
  for (let i = 0; i < want.length; i++) {
    const [a, b] = [got[i]!, want[i]!];
    if (a === b || (Number.isNaN(a) && Number.isNaN(b))) continue;
    if (Math.abs(a - b) <= tol * Math.max(1, Math.abs(a), Math.abs(b))) continue;
    return `element ${i} is ${a}, the oracle gives ${b}`;
  }
  return null;
}

/** Runs `g` on backend `name` and compares each output with the oracle; null when all agree. */
export function checkGraph(name: string, g: Graph, label: string, tol: number): string | null {
  const backend = getBackend(name);
  const inputs = inputsFor(g, label.length * 7919);
  const want = evalGraphOracle(g, inputs, g.constValues.map((t: Tensor) => t.data()));
  const exe = backend.compile(g);
  const bufs = inputs.map((a, i) => backend.upload(a, g.inputs[i]!.aval.dtype));
  try {
    const outs = exe.run(bufs);
    let bad: string | null = null;
    outs.forEach((o, i) => {
      const m = bad ? null : mismatch(backend.readSync!(o, g.outputs[i]!.aval.dtype, want[i]!.length), want[i]!, tol);
      if (m) bad = `${label} output ${i}: ${m}`;
      backend.free(o);
    });
    return bad;
  } finally {
    for (const b of bufs) backend.free(b);
    exe.dispose();
  }
}

/** A group of conformance cases with its tolerance. */
export interface ConformanceGroup {
  readonly name: string;
  readonly tol: number;
  readonly cases: () => [string, Graph][];
}

/** The groups: primitives (exact up to float sums), random programs, a residual block. */
export const CONFORMANCE: readonly ConformanceGroup[] = [
  { name: 'primitives', tol: 1e-6, cases: () => primitivePrograms().flatMap((e) => (e.graph ? [[e.label, e.graph] as [string, Graph]] : [])) },
  {
    name: 'random',
    tol: 1e-5,
    cases: () => randomGraphs(40).flatMap(([l, g]) => [[l, g], [`${l}/opt`, optimizeGraph(g)]] as [string, Graph][]),
  },
  // float32 accumulation in the convolutions vs the reference's float64: looser.
  { name: 'residual-block', tol: 1e-3, cases: () => residualBlockGraphs(4) },
  // Library kernels with epilogues (the backend's compile forms them): conv + BN + add + ReLU,
  // SGD and momentum updates in weight gradients (split-K too), masks, int32 and float64.
  { name: 'epilogues', tol: 2e-3, cases: () => epilogueGraphs() },
];

/** Runs every group on backend `name`; errors thrown by a case count as failures. */
export function runConformance(name: string): { group: string; passed: number; failures: string[] }[] {
  return CONFORMANCE.map((grp) => {
    const failures: string[] = [];
    let passed = 0;
    for (const [label, g] of grp.cases()) {
      let r: string | null;
      try {
        r = checkGraph(name, g, label, grp.tol);
      } catch (e) {
        r = `${label}: ${(e as Error).message.split('\n').slice(0, 6).join(' | ')}`;
      }
      if (r) failures.push(r);
      else passed++;
    }
    return { group: grp.name, passed, failures };
  });
}
