// The renderers' shared base (kernel/render): the index printer, the SSA expression walker and
// the ALU dispatch, on a small C-like target. Each backend checks its own dialect's output
// (backend-cpu conformance, backend-cuda render and compile checks, backend-webgpu render).
import { describe, expect, it } from 'vitest';
import {
  aluFromRules, cArithHelpers, cDialect, cIndexHelpers, cMinMaxHelpers, cSyntax, idxOperands, indexExprs, indexPrinter, Scope,
  type CLikeSpec, type Expr, type ExprContext, type Idx, type IndexSyntax,
} from '@resgrad/core';

const SPEC: CLikeSpec = {
  who: '@resgrad/test',
  i32: 'i32', u32: 'u32', i64: 'i64', u64: 'u64', u8: 'u8',
  math: (fn) => fn,
  nonFinite: (v) => (Number.isNaN(v) ? 'NAN' : v > 0 ? 'INF' : '(-INF)'),
  minMax: (op) => `rg_${op}`,
  signbit: (x) => `signbit(${x})`,
  twoPowM24f: '0x1p-24f',
  twoPowM32: '0x1p-32',
  inf: 'INF',
  boolFromAcc: (acc) => `(u8)${acc}`,
};
const D = cDialect(SPEC);

const ax = (axis: number): Idx => ({ op: 'axis', axis });
const c = (value: number): Idx => ({ op: 'const', value });
const names = (a: number) => `i${a}`;

/** A WGSL-like syntax: a distinct bool type, so conditions and integers convert. */
const BOOLISH: IndexSyntax = {
  literal: (v) => `${v}i`,
  and: '&&',
  or: '||',
  toInt: (x) => `select(0i, 1i, ${x})`,
  toCond: (x) => `(${x} != 0i)`,
  boolLiteral: (v) => (v ? 'true' : 'false'),
};

describe('index printer', () => {
  it('uses truncating / and % only where the dividend is provably non-negative', () => {
    const p = indexPrinter(cSyntax(SPEC, D.type).index, names, [4, 3]);
    expect(p.int({ op: 'div', a: ax(0), b: 2 })).toBe('(i0 / 2LL)');
    const shifted: Idx = { op: 'add', a: ax(0), b: c(-1) };
    expect(p.int({ op: 'div', a: shifted, b: 2 })).toBe('rg_floordiv((i0 + (-1LL)), 2LL)');
    expect(p.int({ op: 'mod', a: shifted, b: 2 })).toBe('rg_floormod((i0 + (-1LL)), 2LL)');
  });

  it('prints conditions as the same integers in C, and converts where the target has bools', () => {
    const cond: Idx = { op: 'and', a: { op: 'lt', a: ax(0), b: c(3) }, b: ax(1) };
    expect(indexPrinter(cSyntax(SPEC, D.type, false).index, names, [4, 3]).cond(cond)).toBe('((i0 < 3) & i1)');
    const p = indexPrinter(BOOLISH, names, [4, 3]);
    expect(p.cond(cond)).toBe('((i0 < 3i) && (i1 != 0i))');
    expect(p.int(cond)).toBe('select(0i, 1i, ((i0 < 3i) && (i1 != 0i)))');
    expect(p.cond(c(1))).toBe('true');
  });
});

describe('expression walker', () => {
  const context = (): ExprContext => {
    let n = 0;
    return { dialect: D, syntax: cSyntax(SPEC, D.type), load: (a, i) => `a${a}[${i}]`, axis: names, extents: [8], fresh: () => `v${n++}` };
  };
  const load = (index: Idx): Expr => ({ op: 'load', dtype: 'float32', arg: 0, index });
  const add = (a: Expr, b: Expr): Expr => ({ op: 'alu', dtype: 'float32', alu: 'add', args: [a, b] });

  it('computes a subtree shared by value once', () => {
    const s = new Scope(context());
    const v = s.emit(add(load(ax(0)), load(ax(0))));
    // a node takes its name before its operands are rendered
    expect(s.lines).toEqual(['const float v1 = a0[i0];', 'const float v0 = (v1 + v1);']);
    expect(v).toBe('v0');
  });

  it('keeps loads under a select inside their branch', () => {
    const s = new Scope(context());
    const sel: Expr = { op: 'select', dtype: 'float32', cond: { op: 'lt', a: ax(0), b: c(4) }, then: load(ax(0)), else: { op: 'const', dtype: 'float32', value: 0 } };
    s.emit(sel);
    expect(s.lines).toEqual(['float v0;', 'if ((i0 < 4LL)) {', '  const float v1 = a0[i0];', '  v0 = v1;', '} else {', '  v0 = (0.0f);', '}']);
    // a later use outside the select loads again: the branch's local is not visible here
    expect(s.emit(load(ax(0)))).toBe('v2');
  });

  it('refuses `reduced` outside an epilogue, naming the backend', () => {
    expect(() => new Scope(context()).emit({ op: 'reduced', dtype: 'float32' })).toThrow(/^@resgrad\/test: a `reduced` node/);
  });

  it('lists every index expression of a tree', () => {
    const e: Expr = { op: 'threefry', dtype: 'int32', key: [load(ax(0)), { op: 'index', dtype: 'int32', index: c(2) }], stream: 1, counter: ax(1) };
    expect(indexExprs(e).map((i) => JSON.stringify(i)).sort()).toEqual([ax(0), ax(1), c(2)].map((i) => JSON.stringify(i)).sort());
    expect(idxOperands({ op: 'mod', a: ax(0), b: 3 })).toEqual([ax(0)]);
  });
});

describe('ALU dispatch and the C-like dialect', () => {
  it('names the backend and operand dtype of an op without a rendering', () => {
    const alu = aluFromRules({ who: '@resgrad/x', compare: () => '', cast: () => '', where: () => '', bitsToFloat: () => '', float: {}, int: {}, bool: {} });
    expect(() => alu('exp', ['a'], 'int32', 'int32')).toThrow("@resgrad/x: no int32 rendering for ALU op 'exp'");
  });

  it('wraps int32 arithmetic through unsigned and rounds float32 math once from double', () => {
    expect(D.alu('add', ['a', 'b'], 'int32', 'int32')).toBe('(i32)((u32)a + (u32)b)');
    expect(D.alu('exp', ['x'], 'float32', 'float32')).toBe('(float)exp((double)x)');
    expect(cDialect(SPEC, true).alu('exp', ['x'], 'float32', 'float32')).toBe('expf(x)');
    expect(D.alu('lt', ['a', 'b'], 'bool', 'float32')).toBe('(u8)(a < b)');
    expect(D.literal(-2147483648, 'int32')).toBe('((i32)(-2147483647 - 1))');
    expect(D.literal(-Infinity, 'float64')).toBe('(-INF)');
  });

  it('spells the prelude helpers with the target types, qualifier and loop unrolling', () => {
    const opts = { qualifier: 'Q', indexTypes: ['i64', 'int'], unroll: true };
    expect(cArithHelpers(SPEC, opts)).toContain('Q i32 rg_idiv(i32 a, i32 b)');
    const idx = cIndexHelpers(SPEC, opts);
    expect(idx).toContain('Q int rg_floordiv(int a, int d)');
    expect(idx).toContain('#pragma unroll\n  for (int g = 0;');
    expect(cIndexHelpers(SPEC, { ...opts, unroll: false })).toContain('static const int R[2][4]');
    expect(cMinMaxHelpers(SPEC, opts, ['float32'])).toContain('Q float rg_min(float a, float b) {\n  if (a != a) return a;');
  });
});
