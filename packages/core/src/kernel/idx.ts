// Building and simplifying integer index expressions. Every constructor simplifies as it
// builds, using the ranges of the loop indices (`extents`), so that views composed from
// movement ops (reshape chains above all) come out as plain affine maps where they are ones.
import type { Idx } from './ir.js';

/** Inclusive bounds of an index expression's value. */
export interface Range {
  readonly lo: number;
  readonly hi: number;
}

/** Extent of each axis of a kernel's index space: axis `a` ranges over `[0, extents[a])`. */
export type Extents = readonly number[];

/** An integer literal. */
export const lit = (value: number): Idx => ({ op: 'const', value });
/** The loop index of axis `a`. */
export const axis = (a: number): Idx => ({ op: 'axis', axis: a });
const ZERO = lit(0);
const ONE = lit(1);

const isConst = (e: Idx, v?: number): e is { op: 'const'; value: number } =>
  e.op === 'const' && (v === undefined || e.value === v);

const floorDiv = (a: number, b: number) => Math.floor(a / b);
const floorMod = (a: number, b: number) => a - b * Math.floor(a / b);
const gcd = (a: number, b: number): number => {
  a = Math.abs(a);
  b = Math.abs(b);
  while (b) [a, b] = [b, a % b];
  return a;
};

/** Bounds of `e` given the axis extents (an empty axis gives an empty range [0, -1]). */
export function rangeOf(e: Idx, ext: Extents): Range {
  switch (e.op) {
    case 'axis':
      return { lo: 0, hi: (ext[e.axis] ?? 1) - 1 };
    case 'const':
      return { lo: e.value, hi: e.value };
    case 'add': {
      const a = rangeOf(e.a, ext);
      const b = rangeOf(e.b, ext);
      return { lo: a.lo + b.lo, hi: a.hi + b.hi };
    }
    case 'mul': {
      const a = rangeOf(e.a, ext);
      const b = rangeOf(e.b, ext);
      const p = [a.lo * b.lo, a.lo * b.hi, a.hi * b.lo, a.hi * b.hi];
      return { lo: Math.min(...p), hi: Math.max(...p) };
    }
    case 'div': {
      const a = rangeOf(e.a, ext);
      return { lo: floorDiv(a.lo, e.b), hi: floorDiv(a.hi, e.b) };
    }
    case 'mod': {
      const a = rangeOf(e.a, ext);
      // Within one period the remainder is a shift of the dividend; otherwise all of [0, b).
      if (floorDiv(a.lo, e.b) === floorDiv(a.hi, e.b)) return { lo: floorMod(a.lo, e.b), hi: floorMod(a.hi, e.b) };
      return { lo: 0, hi: e.b - 1 };
    }
    default:
      return { lo: 0, hi: 1 };
  }
}

// A linear form sum(coef * atom) + c, where atoms are the non-affine parts (axes, div, mod,
// products of non-constants, conditions). Terms with equal atoms are merged by their printout.
interface Linear {
  terms: { atom: Idx; coef: number; key: string }[];
  c: number;
}

/** A compact printout, used as a structural key and by the program printer. */
export function idxToString(e: Idx, names: (axis: number) => string = (a) => `a${a}`): string {
  const s = (x: Idx): string => idxToString(x, names);
  switch (e.op) {
    case 'axis':
      return names(e.axis);
    case 'const':
      return String(e.value);
    case 'add':
      return isConst(e.b) && e.b.value < 0 ? `${s(e.a)} - ${-e.b.value}` : `${s(e.a)} + ${s(e.b)}`;
    case 'mul':
      return `${wrap(e.a, s)}*${wrap(e.b, s)}`;
    case 'div':
      return `${wrap(e.a, s)}/${e.b}`;
    case 'mod':
      return `${wrap(e.a, s)}%${e.b}`;
    case 'lt':
      return `${s(e.a)} < ${s(e.b)}`;
    case 'ge':
      return `${s(e.a)} >= ${s(e.b)}`;
    case 'eq':
      return `${s(e.a)} == ${s(e.b)}`;
    case 'and':
      return `${wrapCond(e.a, s)} && ${wrapCond(e.b, s)}`;
    case 'or':
      return `${wrapCond(e.a, s)} || ${wrapCond(e.b, s)}`;
  }
}

const wrap = (e: Idx, s: (x: Idx) => string) =>
  e.op === 'axis' || e.op === 'const' || e.op === 'mul' || e.op === 'div' || e.op === 'mod' ? s(e) : `(${s(e)})`;
const wrapCond = (e: Idx, s: (x: Idx) => string) => (e.op === 'or' || e.op === 'and' ? `(${s(e)})` : s(e));

function linear(e: Idx, ext?: Extents): Linear {
  const out: Linear = { terms: [], c: 0 };
  const visit = (x: Idx, k: number) => {
    if (k === 0) return;
    if (x.op === 'const') out.c += k * x.value;
    else if (x.op === 'add') {
      visit(x.a, k);
      visit(x.b, k);
    } else if (x.op === 'mul' && isConst(x.b)) visit(x.a, k * x.b.value);
    else if (x.op === 'mul' && isConst(x.a)) visit(x.b, k * x.a.value);
    else {
      const key = idxToString(x);
      const t = out.terms.find((q) => q.key === key);
      if (t) t.coef += k;
      else out.terms.push({ atom: x, coef: k, key });
    }
  };
  visit(e, 1);
  out.terms = out.terms.filter((t) => t.coef !== 0);
  return recombine(out, ext);
}

/**
 * Undoes unflattening: c*(x mod m) + c*m*floor(x/m) = c*x, with floor(x/m) in the canonical
 * form `div` gives it (simplified with `ext` when given). Repeats until nothing pairs up, so a
 * flatten of an unflatten collapses back to the flat index.
 */
function recombine(l: Linear, ext?: Extents): Linear {
  for (;;) {
    let done = true;
    for (const tm of l.terms) {
      if (tm.atom.op !== 'mod') continue;
      const m = tm.atom.b;
      const x = tm.atom.a;
      const want: Idx = ext ? div(x, m, ext) : { op: 'div', a: x, b: m };
      const wantKey = idxToString(want);
      const td = l.terms.find((t) => t.key === wantKey && t.coef === tm.coef * m);
      if (!td) continue;
      const rest = l.terms.filter((t) => t !== tm && t !== td);
      const merged = linear(add(fromLinear({ terms: rest, c: l.c }), mul(x, lit(tm.coef)), ext), ext);
      l = merged;
      done = false;
      break;
    }
    if (done) return l;
  }
}

/** Rebuilds an expression from a linear form, terms in a canonical order (largest coefficient first). */
function fromLinear(l: Linear): Idx {
  let e: Idx | null = null;
  const terms = [...l.terms].sort((x, y) => Math.abs(y.coef) - Math.abs(x.coef) || (x.key < y.key ? -1 : x.key > y.key ? 1 : 0));
  for (const t of terms) {
    const term = t.coef === 1 ? t.atom : { op: 'mul' as const, a: t.atom, b: lit(t.coef) };
    e = e ? { op: 'add', a: e, b: term } : term;
  }
  if (!e) return lit(l.c);
  return l.c === 0 ? e : { op: 'add', a: e, b: lit(l.c) };
}

function linearRange(l: Linear, ext: Extents): Range {
  let lo = l.c;
  let hi = l.c;
  for (const t of l.terms) {
    const r = rangeOf(t.atom, ext);
    lo += t.coef > 0 ? t.coef * r.lo : t.coef * r.hi;
    hi += t.coef > 0 ? t.coef * r.hi : t.coef * r.lo;
  }
  return { lo, hi };
}

/** a + b; with `ext`, div/mod pairs left by unflattening recombine (see `recombine`). */
export function add(a: Idx, b: Idx, ext?: Extents): Idx {
  if (isConst(a) && isConst(b)) return lit(a.value + b.value);
  return fromLinear(linear({ op: 'add', a, b }, ext));
}

/** a - b. */
export function sub(a: Idx, b: Idx, ext?: Extents): Idx {
  return add(a, mul(b, lit(-1)), ext);
}

/** a * b (constant factors distribute over sums; products of non-constants stay as they are). */
export function mul(a: Idx, b: Idx): Idx {
  if (isConst(a) && isConst(b)) return lit(a.value * b.value);
  if (isConst(a, 0) || isConst(b, 0)) return ZERO;
  if (isConst(b, 1)) return a;
  if (isConst(a, 1)) return b;
  if (isConst(a) || isConst(b)) return fromLinear(linear({ op: 'mul', a, b }));
  return { op: 'mul', a, b };
}

/**
 * Splits `l` into `g * big + small` with g > 1 a common factor of `d` and of the coefficients
 * of `big`, and `0 <= small < g` over the ranges of `ext` (small takes the terms of smallest
 * coefficient). Then floor(l / d) = floor(big / (d/g)) and l mod d = g * (big mod (d/g)) + small.
 */
function factorOut(l: Linear, d: number, ext: Extents): { g: number; big: Linear; small: Linear } | null {
  const terms = [...l.terms].sort((x, y) => Math.abs(x.coef) - Math.abs(y.coef));
  for (let m = 0; m < terms.length; m++) {
    const bigTerms = terms.slice(m);
    let g = d;
    for (const t of bigTerms) g = gcd(g, t.coef);
    if (g <= 1) continue;
    const small: Linear = { terms: terms.slice(0, m), c: floorMod(l.c, g) };
    const r = linearRange(small, ext);
    if (r.lo < 0 || r.hi >= g) continue;
    const big: Linear = { terms: bigTerms.map((t) => ({ ...t, coef: t.coef / g })), c: (l.c - small.c) / g };
    return { g, big, small };
  }
  return null;
}

/** Floor division by a positive constant, simplified with the ranges of `ext`. */
export function div(a: Idx, d: number, ext: Extents): Idx {
  if (d === 1) return a;
  if (isConst(a)) return lit(floorDiv(a.value, d));
  // floor((d*q + r) / d) = q + floor(r / d) for any integers q, r.
  const l = linear(a);
  const quot: Linear = { terms: [], c: floorDiv(l.c, d) };
  const rest: Linear = { terms: [], c: floorMod(l.c, d) };
  for (const t of l.terms) (t.coef % d === 0 ? quot.terms.push({ ...t, coef: t.coef / d }) : rest.terms.push(t));
  return add(fromLinear(quot), divRest(rest, d, ext));
}

function divRest(rest: Linear, d: number, ext: Extents): Idx {
  const r = linearRange(rest, ext);
  if (floorDiv(r.lo, d) === floorDiv(r.hi, d)) return lit(floorDiv(r.lo, d));
  const f = factorOut(rest, d, ext);
  if (f) return div(fromLinear(f.big), d / f.g, ext);
  // floor((q + floor(y/k)) / d) = floor((k q + y) / (k d)) for integer q: one flat division
  const inner = rest.terms.filter((t) => t.atom.op === 'div' && t.coef === 1);
  if (inner.length === 1) {
    const t = inner[0]!;
    const { a: y, b: k } = t.atom as { a: Idx; b: number };
    const q = fromLinear({ terms: rest.terms.filter((u) => u !== t), c: rest.c });
    return div(add(mul(q, lit(k)), y, ext), k * d, ext);
  }
  return { op: 'div', a: fromLinear(rest), b: d };
}

/** Floor remainder by a positive constant (always in [0, d)), simplified with the ranges of `ext`. */
export function mod(a: Idx, d: number, ext: Extents): Idx {
  if (d === 1) return ZERO;
  if (isConst(a)) return lit(floorMod(a.value, d));
  // Terms that are multiples of d drop out: (d*q + r) mod d = r mod d. (Other coefficients are
  // kept as they are, so that the mod still pairs up with the matching div in `recombine`.)
  const l = linear(a);
  const rest: Linear = { terms: l.terms.filter((t) => t.coef % d !== 0), c: floorMod(l.c, d) };
  const r = linearRange(rest, ext);
  if (floorDiv(r.lo, d) === floorDiv(r.hi, d)) return add(fromLinear(rest), lit(-d * floorDiv(r.lo, d)));
  const f = factorOut(rest, d, ext);
  if (f) return add(mul(mod(fromLinear(f.big), d / f.g, ext), lit(f.g)), fromLinear(f.small));
  const only = rest.terms.length === 1 && rest.c === 0 && rest.terms[0]!.coef === 1 ? rest.terms[0]!.atom : null;
  // (x mod p) mod d = x mod d when d divides p
  if (only?.op === 'mod' && only.b % d === 0) return mod(only.a, d, ext);
  return { op: 'mod', a: fromLinear(rest), b: d };
}

/** `a < b` as 0/1, decided from the ranges where possible. */
export function lt(a: Idx, b: Idx, ext: Extents): Idx {
  const l = linear(sub(a, b));
  const r = linearRange(l, ext);
  if (r.hi < 0) return ONE;
  if (r.lo >= 0) return ZERO;
  // a - b < 0  <=>  L < -c with L the non-constant part; g*L' < k <=> L' < ceil(k/g)
  const g = termsGcd(l);
  return { op: 'lt', a: fromLinear(scaleTerms(l, g)), b: lit(Math.ceil(-l.c / g)) };
}

/** `a >= b` as 0/1, decided from the ranges where possible. */
export function ge(a: Idx, b: Idx, ext: Extents): Idx {
  const l = linear(sub(a, b));
  const r = linearRange(l, ext);
  if (r.lo >= 0) return ONE;
  if (r.hi < 0) return ZERO;
  // g*L' >= k <=> L' >= ceil(k/g)
  const g = termsGcd(l);
  return { op: 'ge', a: fromLinear(scaleTerms(l, g)), b: lit(Math.ceil(-l.c / g)) };
}

/** `a == b` as 0/1, decided from the ranges where possible. */
export function eq(a: Idx, b: Idx, ext: Extents): Idx {
  const l = linear(sub(a, b));
  const r = linearRange(l, ext);
  if (r.lo === 0 && r.hi === 0) return ONE;
  if (r.lo > 0 || r.hi < 0) return ZERO;
  // g*L' == k has no solution unless g divides k
  const g = termsGcd(l);
  if (-l.c % g !== 0) return ZERO;
  return { op: 'eq', a: fromLinear(scaleTerms(l, g)), b: lit(-l.c / g) };
}

const termsGcd = (l: Linear) => l.terms.reduce((g, t) => gcd(g, t.coef), 0) || 1;
const scaleTerms = (l: Linear, g: number): Linear => ({ terms: l.terms.map((t) => ({ ...t, coef: t.coef / g })), c: 0 });

/** Conjunction of conditions; `undefined` stands for "always true". */
export function and(a: Idx | undefined, b: Idx | undefined): Idx | undefined {
  if (a === undefined || isConst(a, 1)) return b;
  if (b === undefined || isConst(b, 1)) return a;
  if (isConst(a, 0) || isConst(b, 0)) return ZERO;
  return { op: 'and', a, b };
}

/** Disjunction of conditions. */
export function or(a: Idx, b: Idx): Idx {
  if (isConst(a, 1) || isConst(b, 1)) return ONE;
  if (isConst(a, 0)) return b;
  if (isConst(b, 0)) return a;
  return { op: 'or', a, b };
}

/** Row-major flat index of a multi-index into `shape` (size-1 dims contribute nothing). */
export function flatten(idx: readonly Idx[], shape: readonly number[], ext?: Extents): Idx {
  let e: Idx = ZERO;
  let stride = 1;
  for (let k = shape.length - 1; k >= 0; k--) {
    if (shape[k] !== 1) e = add(e, mul(idx[k]!, lit(stride)), ext);
    stride *= shape[k]!;
  }
  return e;
}

/** The multi-index into `shape` of a row-major flat index whose value lies in [0, size(shape)). */
export function unflatten(flat: Idx, shape: readonly number[], ext: Extents): Idx[] {
  const out = new Array<Idx>(shape.length);
  let stride = 1;
  for (let k = shape.length - 1; k >= 0; k--) {
    const d = shape[k]!;
    out[k] = d === 1 ? ZERO : k === 0 ? div(flat, stride, ext) : mod(div(flat, stride, ext), d, ext);
    stride *= d;
  }
  return out;
}

/** True when `e` is a constant (optionally equal to `v`). */
export function isConstIdx(e: Idx | undefined, v?: number): boolean {
  return e !== undefined && isConst(e, v);
}

/**
 * Rebuilds `e` bottom-up through the simplifying constructors: constant folding, x*1, x+0,
 * merging of like terms, div/mod of expressions whose range is known, and values that the
 * ranges pin down become constants.
 */
export function simplifyIdx(e: Idx, ext: Extents): Idx {
  const r = simplifyNode(e, ext);
  // A value the ranges pin down (an axis of extent 1, say) is a constant.
  const { lo, hi } = rangeOf(r, ext);
  return lo === hi && r.op !== 'const' ? lit(lo) : r;
}

function simplifyNode(e: Idx, ext: Extents): Idx {
  const s = (x: Idx) => simplifyIdx(x, ext);
  switch (e.op) {
    case 'axis':
    case 'const':
      return e;
    case 'add':
      return add(s(e.a), s(e.b), ext);
    case 'mul':
      return mul(s(e.a), s(e.b));
    case 'div':
      return div(s(e.a), e.b, ext);
    case 'mod':
      return mod(s(e.a), e.b, ext);
    case 'lt':
      return lt(s(e.a), s(e.b), ext);
    case 'ge':
      return ge(s(e.a), s(e.b), ext);
    case 'eq':
      return eq(s(e.a), s(e.b), ext);
    case 'and':
      return and(s(e.a), s(e.b)) ?? ONE;
    case 'or':
      return or(s(e.a), s(e.b));
  }
}
