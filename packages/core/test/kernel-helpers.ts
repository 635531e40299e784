// Shared by the scheduler tests: run a graph both ways (scheduled + interpreted, and the
// equation-by-equation oracle) and compare.
import { expect } from 'vitest';
import { compileProgram, evalGraphOracle, type Graph, type Program, schedule, type ScheduleOptions, type TypedArray } from '@resgrad/core';

/** Host data of a graph's consts. */
export const constData = (g: Graph): TypedArray[] => g.constValues.map((t) => t.data());

/** Element-wise comparison: exact for int32/bool, relative `tol` for floats (NaN equals NaN). */
export function expectSameArray(got: TypedArray, want: TypedArray, label: string): void {
  expect(got.constructor, `${label}: array type`).toBe(want.constructor);
  expect(got.length, `${label}: length`).toBe(want.length);
  const float = want instanceof Float32Array || want instanceof Float64Array;
  const tol = want instanceof Float64Array ? 1e-12 : 1e-6;
  for (let i = 0; i < want.length; i++) {
    const a = got[i]!;
    const b = want[i]!;
    if (Object.is(a, b) || a === b || (Number.isNaN(a) && Number.isNaN(b))) continue;
    const ok = float && Math.abs(a - b) <= tol * Math.max(Math.abs(a), Math.abs(b));
    if (!ok) expect.fail(`${label}: element ${i} is ${a}, the oracle gives ${b}`);
  }
}

/**
 * Schedules `graph`, interprets it on `inputs` and checks every output against the oracle.
 * Returns the program for structural checks.
 */
export function checkAgainstOracle(graph: Graph, inputs: readonly TypedArray[], label = 'output', options: ScheduleOptions = {}): Program {
  const consts = constData(graph);
  const program = schedule(graph, options);
  const want = evalGraphOracle(graph, inputs, consts);
  const got = compileProgram(program).run(inputs, consts);
  expect(got.length).toBe(want.length);
  want.forEach((w, i) => expectSameArray(got[i]!, w, `${label} ${i}`));
  return program;
}

/** A small deterministic PRNG (mulberry32) for test data. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Kernels of a program by kind. */
export const kernelCount = (p: Program, kind?: 'fused' | 'library') => p.kernels.filter((k) => !kind || k.kind === kind).length;
