// The index-expression simplifier: it must never change a value (checked by brute force over
// small index spaces) and must undo flatten-then-unflatten reshapes completely.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Idx, idxToString, rangeOf, simplifyIdx } from '@resgrad/core';
import { rng } from './kernel-helpers.js';

const floorMod = (a: number, b: number) => a - b * Math.floor(a / b);

/** Straightforward evaluation with floor semantics. */
function evalIdx(e: Idx, ix: readonly number[]): number {
  switch (e.op) {
    case 'axis':
      return ix[e.axis]!;
    case 'const':
      return e.value;
    case 'add':
      return evalIdx(e.a, ix) + evalIdx(e.b, ix);
    case 'mul':
      return evalIdx(e.a, ix) * evalIdx(e.b, ix);
    case 'div':
      return Math.floor(evalIdx(e.a, ix) / e.b);
    case 'mod':
      return floorMod(evalIdx(e.a, ix), e.b);
    case 'lt':
      return evalIdx(e.a, ix) < evalIdx(e.b, ix) ? 1 : 0;
    case 'ge':
      return evalIdx(e.a, ix) >= evalIdx(e.b, ix) ? 1 : 0;
    case 'eq':
      return evalIdx(e.a, ix) === evalIdx(e.b, ix) ? 1 : 0;
    case 'and':
      return evalIdx(e.a, ix) && evalIdx(e.b, ix) ? 1 : 0;
    case 'or':
      return evalIdx(e.a, ix) || evalIdx(e.b, ix) ? 1 : 0;
  }
}

function* points(ext: readonly number[]): Generator<number[]> {
  const ix = ext.map(() => 0);
  if (ext.some((n) => n === 0)) return;
  for (;;) {
    yield ix;
    let d = ext.length - 1;
    for (; d >= 0; d--) {
      if (++ix[d]! < ext[d]!) break;
      ix[d] = 0;
    }
    if (d < 0) return;
  }
}

/** A random expression over `nAxes` axes, built from every node kind. */
function randomIdx(r: () => number, nAxes: number, depth: number): Idx {
  const int = (n: number) => Math.floor(r() * n);
  if (depth === 0 || r() < 0.25) return r() < 0.6 ? { op: 'axis', axis: int(nAxes) } : { op: 'const', value: int(13) - 4 };
  const sub = () => randomIdx(r, nAxes, depth - 1);
  const k = int(9);
  switch (k) {
    case 0:
    case 1:
      return { op: 'add', a: sub(), b: sub() };
    case 2:
      return { op: 'mul', a: sub(), b: { op: 'const', value: int(7) - 2 } };
    case 3:
      return { op: 'mul', a: sub(), b: sub() };
    case 4:
      return { op: 'div', a: sub(), b: 1 + int(6) };
    case 5:
      return { op: 'mod', a: sub(), b: 1 + int(6) };
    case 6:
      return { op: (['lt', 'ge', 'eq'] as const)[int(3)]!, a: sub(), b: sub() };
    default:
      return { op: r() < 0.5 ? 'and' : 'or', a: { op: 'lt', a: sub(), b: sub() }, b: { op: 'ge', a: sub(), b: sub() } };
  }
}

describe('index simplifier', () => {
  it('keeps the value of random expressions at every point, within the computed range', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 31 - 1 }), fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 3 }), (seed, ext) => {
        const r = rng(seed);
        for (let t = 0; t < 20; t++) {
          const e = randomIdx(r, ext.length, 4);
          const s = simplifyIdx(e, ext);
          const range = rangeOf(s, ext);
          for (const ix of points(ext)) {
            const v = evalIdx(s, ix);
            if (v !== evalIdx(e, ix)) expect.fail(`${idxToString(e)} simplified to ${idxToString(s)} differs at [${ix}]`);
            if (!(v >= range.lo && v <= range.hi)) expect.fail(`${idxToString(s)} = ${v} at [${ix}] outside [${range.lo}, ${range.hi}]`);
          }
        }
      }),
      { numRuns: 3 * (fc.readConfigureGlobal().numRuns ?? 30) },
    );
  });

  const flatten = (idx: Idx[], shape: number[]): Idx => {
    let e: Idx = { op: 'const', value: 0 };
    let stride = 1;
    for (let k = shape.length - 1; k >= 0; k--) {
      e = { op: 'add', a: e, b: { op: 'mul', a: idx[k]!, b: { op: 'const', value: stride } } };
      stride *= shape[k]!;
    }
    return e;
  };
  const unflatten = (f: Idx, shape: number[]): Idx[] => {
    let stride = 1;
    const out: Idx[] = [];
    for (let k = shape.length - 1; k >= 0; k--) {
      out[k] = { op: 'mod', a: { op: 'div', a: f, b: stride }, b: shape[k]! };
      stride *= shape[k]!;
    }
    return out;
  };
  const factorisations = fc
    .array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 4 })
    .chain((a) => fc.tuple(fc.constant(a), fc.shuffledSubarray(a, { minLength: a.length, maxLength: a.length })));

  it('reduces reshape A -> B -> A to the identity index', () => {
    fc.assert(
      fc.property(factorisations, fc.integer({ min: 0, max: 3 }), ([a, permuted], split) => {
        // B: the same number of elements in another grouping of the factors
        const b: number[] = [];
        permuted.forEach((d, i) => (i % (split + 1) === 0 || b.length === 0 ? b.push(d) : (b[b.length - 1]! *= d)));
        const ext = a;
        const idx = a.map((_, k): Idx => ({ op: 'axis', axis: k }));
        const inB = unflatten(flatten(idx, a), b).map((e) => simplifyIdx(e, ext));
        const back = unflatten(flatten(inB, b), a).map((e) => simplifyIdx(e, ext));
        back.forEach((e, k) => {
          const want = a[k] === 1 ? '0' : `a${k}`;
          expect(idxToString(e)).toBe(want);
        });
        // and flattening any grouping gives the plain row-major offset
        const flat = simplifyIdx(flatten(inB, b), ext);
        expect(idxToString(flat)).not.toMatch(/[/%]/);
      }),
    );
  });

  it('folds constants, x*1, x+0 and decided comparisons', () => {
    const a0: Idx = { op: 'axis', axis: 0 };
    const c = (value: number): Idx => ({ op: 'const', value });
    const ext = [4];
    expect(simplifyIdx({ op: 'add', a: { op: 'mul', a: a0, b: c(1) }, b: c(0) }, ext)).toEqual(a0);
    expect(simplifyIdx({ op: 'mul', a: { op: 'add', a: c(2), b: c(3) }, b: c(4) }, ext)).toEqual(c(20));
    expect(simplifyIdx({ op: 'div', a: a0, b: 4 }, ext)).toEqual(c(0));
    expect(simplifyIdx({ op: 'mod', a: a0, b: 4 }, ext)).toEqual(a0);
    expect(simplifyIdx({ op: 'lt', a: a0, b: c(4) }, ext)).toEqual(c(1));
    expect(simplifyIdx({ op: 'ge', a: a0, b: c(0) }, ext)).toEqual(c(1));
    expect(simplifyIdx({ op: 'and', a: { op: 'ge', a: a0, b: c(0) }, b: { op: 'lt', a: a0, b: c(2) } }, ext)).toEqual({ op: 'lt', a: a0, b: c(2) });
    expect(idxToString(simplifyIdx({ op: 'div', a: { op: 'add', a: { op: 'mul', a: a0, b: c(8) }, b: c(3) }, b: 4 }, ext))).toBe('a0*2');
  });
});
