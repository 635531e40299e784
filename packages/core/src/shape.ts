import { check, fail, fmtShape } from './errors.js';

export type Shape = readonly number[];

export function sizeOf(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Row-major (C order) strides in elements. */
export function stridesOf(shape: Shape): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i]!;
  }
  return s;
}

export function shapesEqual(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

export function checkShape(op: string, shape: unknown): number[] {
  if (!Array.isArray(shape)) fail(op, `expected a shape (array of non-negative integers), got ${String(shape)}`);
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0)
      fail(op, `expected a shape of non-negative integers, got [${shape.join(', ')}]`);
  }
  return shape as number[];
}

/** NumPy broadcasting of two shapes; throws naming `op` when they are incompatible. */
export function broadcastShapes(op: string, a: Shape, b: Shape): number[] {
  const n = Math.max(a.length, b.length);
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const da = a[a.length - n + i] ?? 1;
    const db = b[b.length - n + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1)
      fail(op, `shapes ${fmtShape(a)} and ${fmtShape(b)} cannot be broadcast together (dimension ${i} of the result: ${da} vs ${db})`);
    out[i] = da === 1 ? db : da;
  }
  return out;
}

/** Resolves a possibly negative axis against `rank`; throws naming `op` when out of range. */
export function normalizeAxis(op: string, axis: number, rank: number): number {
  check(Number.isInteger(axis), op, () => `axis must be an integer, got ${axis}`);
  const a = axis < 0 ? axis + rank : axis;
  check(a >= 0 && a < rank, op, () => `axis ${axis} is out of range for a tensor of rank ${rank}`);
  return a;
}

/** Resolves `axes` (undefined means all) into sorted unique non-negative axes. */
export function normalizeAxes(op: string, axes: number | readonly number[] | undefined, rank: number): number[] {
  if (axes === undefined) return Array.from({ length: rank }, (_, i) => i);
  const list = typeof axes === 'number' ? [axes] : axes;
  const out = list.map((a) => normalizeAxis(op, a, rank));
  check(new Set(out).size === out.length, op, () => `axes [${list.join(', ')}] contain a repeated axis`);
  return out.sort((x, y) => x - y);
}
