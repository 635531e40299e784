import { check, fail, fmtShape } from '../errors.js';
import { checkShape, normalizeAxes, normalizeAxis, sizeOf } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { asTensor, resultType } from './elementwise.js';
import * as P from './prim.js';

/**
 * A tensor with the same elements in a new shape; one dimension may be -1 (inferred).
 *
 * @example
 * ```ts
 * reshape(arange(6), [2, -1]).shape; // [2, 3]
 * ```
 */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  const t = asTensor('reshape', x);
  const infer = shape.filter((d) => d === -1).length;
  check(infer <= 1, 'reshape', () => `at most one dimension may be -1, got ${fmtShape(shape)}`);
  let target = [...shape];
  if (infer) {
    const known = sizeOf(shape.filter((d) => d !== -1));
    check(known > 0 && t.size % known === 0, 'reshape', () => `cannot reshape ${fmtShape(t.shape)} (${t.size} elements) into ${fmtShape(shape)}`);
    target = shape.map((d) => (d === -1 ? t.size / known : d));
  }
  checkShape('reshape', target);
  check(sizeOf(target) === t.size, 'reshape', () =>
    `cannot reshape ${fmtShape(t.shape)} (${t.size} elements) into ${fmtShape(shape)} (${sizeOf(target)} elements)`,
  );
  return P.reshape(t, target);
}

/** Flattens to rank 1. */
export const flatten = (x: Tensor) => reshape(x, [-1]);

/** Permutes the axes; without `perm`, reverses them. */
export function transpose(x: Tensor, perm?: readonly number[]): Tensor {
  const t = asTensor('transpose', x);
  const p = perm ?? t.shape.map((_, i) => t.rank - 1 - i);
  if (p.length !== t.rank) fail('transpose', `perm [${p.join(', ')}] has ${p.length} entries for a tensor of rank ${t.rank} (shape ${fmtShape(t.shape)})`);
  return P.transpose(t, p.map((a) => normalizeAxis('transpose', a, t.rank)));
}

/** Broadcasts to `shape` under NumPy rules. */
export function broadcastTo(x: Tensor, shape: readonly number[]): Tensor {
  const t = asTensor('broadcastTo', x);
  checkShape('broadcastTo', shape);
  const off = shape.length - t.rank;
  const ok = off >= 0 && t.shape.every((d, i) => d === 1 || d === shape[off + i]);
  if (!ok) fail('broadcastTo', `cannot broadcast shape ${fmtShape(t.shape)} to ${fmtShape(shape)}`);
  return P.broadcast(t, shape);
}

/** Inserts a size-1 axis at `axis`. */
export function expandDims(x: Tensor, axis: number): Tensor {
  const t = asTensor('expandDims', x);
  const a = normalizeAxis('expandDims', axis, t.rank + 1);
  const s = [...t.shape];
  s.splice(a, 0, 1);
  return P.reshape(t, s);
}

/** Removes size-1 axes (all of them, or those in `axes`). */
export function squeeze(x: Tensor, axes?: number | readonly number[]): Tensor {
  const t = asTensor('squeeze', x);
  const ax = axes === undefined ? t.shape.flatMap((d, i) => (d === 1 ? [i] : [])) : normalizeAxes('squeeze', axes, t.rank);
  for (const a of ax) check(t.shape[a] === 1, 'squeeze', () => `axis ${a} of shape ${fmtShape(t.shape)} has size ${t.shape[a]}, not 1`);
  return P.reshape(t, t.shape.filter((_, i) => !ax.includes(i)));
}

/**
 * Python-style slicing per axis: `begin`/`end` may be negative (counted from the end) or
 * null (the whole axis); `step` is positive. Missing trailing axes are taken whole.
 *
 * @example
 * ```ts
 * slice(arange(10), [2], [-2], [3]).toArray(); // [2, 5]
 * ```
 */
export function slice(
  x: Tensor,
  begin: readonly (number | null)[],
  end?: readonly (number | null)[],
  step?: readonly number[],
): Tensor {
  const t = asTensor('slice', x);
  check(begin.length <= t.rank && (end?.length ?? 0) <= t.rank && (step?.length ?? 0) <= t.rank, 'slice', () =>
    `more slice entries than the ${t.rank} axes of ${fmtShape(t.shape)}`,
  );
  const start: number[] = [];
  const stop: number[] = [];
  const steps: number[] = [];
  for (let i = 0; i < t.rank; i++) {
    const n = t.shape[i]!;
    const s = step?.[i] ?? 1;
    check(Number.isInteger(s) && s >= 1, 'slice', () => `step must be a positive integer, got ${s} on axis ${i}`);
    const clamp = (v: number | null | undefined, dflt: number) => {
      if (v === null || v === undefined) return dflt;
      check(Number.isInteger(v), 'slice', () => `indices must be integers, got ${v} on axis ${i}`);
      return Math.min(Math.max(v < 0 ? v + n : v, 0), n);
    };
    const b = clamp(begin[i], 0);
    start.push(b);
    stop.push(Math.max(b, clamp(end?.[i], n)));
    steps.push(s);
  }
  return P.slice(t, start, stop, steps);
}

/** Pads each axis with `[before, after]` copies of `value` (default 0). */
export function pad(x: Tensor, widths: readonly (readonly [number, number])[], value = 0): Tensor {
  const t = asTensor('pad', x);
  check(widths.length === t.rank, 'pad', () => `expected ${t.rank} [before, after] pairs for shape ${fmtShape(t.shape)}, got ${widths.length}`);
  check(
    widths.every((w) => w.length === 2 && w.every((v) => Number.isInteger(v) && v >= 0)),
    'pad',
    () => `widths must be pairs of non-negative integers, got ${JSON.stringify(widths)}`,
  );
  return P.pad(t, widths.map((w) => w[0]), widths.map((w) => w[1]), undefined, value);
}

/** Joins tensors along an existing axis. */
export function concat(xs: readonly Tensor[], axis = 0): Tensor {
  check(Array.isArray(xs) && xs.length > 0, 'concat', () => 'expected a non-empty array of tensors');
  const ts = xs.map((x) => asTensor('concat', x));
  const a = normalizeAxis('concat', axis, ts[0]!.rank);
  const dt = resultType(ts);
  const bad = ts.find((t) => t.rank !== ts[0]!.rank || t.shape.some((d, i) => i !== a && d !== ts[0]!.shape[i]));
  if (bad) fail('concat', `all dims but axis ${a} must match, got ${ts.map((t) => fmtShape(t.shape)).join(', ')}`);
  return P.concat(ts.map((t) => P.cast(t, dt)), a);
}

/** Joins tensors of one shape along a new axis. */
export function stack(xs: readonly Tensor[], axis = 0): Tensor {
  check(Array.isArray(xs) && xs.length > 0, 'stack', () => 'expected a non-empty array of tensors');
  const ts = xs.map((x) => asTensor('stack', x));
  const bad = ts.find((t) => fmtShape(t.shape) !== fmtShape(ts[0]!.shape));
  if (bad) fail('stack', `all tensors must have one shape, got ${ts.map((t) => fmtShape(t.shape)).join(', ')}`);
  const a = normalizeAxis('stack', axis, ts[0]!.rank + 1);
  return concat(ts.map((t) => expandDims(t, a)), a);
}
