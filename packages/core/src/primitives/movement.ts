import { allocArray, coerceScalar } from '../dtype.js';
import { check, fail, fmtShape } from '../errors.js';
import type { Aval } from '../graph.js';
import * as P from '../ops/prim.js';
import { sizeOf, stridesOf } from '../shape.js';
import { checkArity, flatIndex, gatherRef } from './common.js';
import type { PrimitiveDef } from './types.js';

const isNat = (v: number) => Number.isInteger(v) && v >= 0;

export const reshape: PrimitiveDef<'reshape'> = {
  kind: 'movement',
  shape(inputs, p) {
    checkArity('reshape', inputs, 1);
    const x = inputs[0]!;
    check(p.shape.every(isNat), 'reshape', () => `invalid target shape ${fmtShape(p.shape)}`);
    check(sizeOf(p.shape) === sizeOf(x.shape), 'reshape', () =>
      `cannot reshape ${fmtShape(x.shape)} (${sizeOf(x.shape)} elements) into ${fmtShape(p.shape)} (${sizeOf(p.shape)} elements)`,
    );
    return { shape: [...p.shape], dtype: x.dtype };
  },
  reference: ([x]) => x!.data.slice(),
  vjp: (_i, ct, [x]) => P.reshape(ct, x!.shape),
};

/** Input dims align with the trailing output dims; each is 1 or equal. */
export const broadcast: PrimitiveDef<'broadcast'> = {
  kind: 'movement',
  shape(inputs, p) {
    checkArity('broadcast', inputs, 1);
    const x = inputs[0]!;
    const off = p.shape.length - x.shape.length;
    const ok = off >= 0 && p.shape.every(isNat) && x.shape.every((d, i) => d === 1 || d === p.shape[off + i]);
    if (!ok) fail('broadcast', `cannot broadcast shape ${fmtShape(x.shape)} to ${fmtShape(p.shape)}`);
    return { shape: [...p.shape], dtype: x.dtype };
  },
  reference([x], p, out) {
    const off = p.shape.length - x!.shape.length;
    const st = stridesOf(x!.shape).map((s, i) => (x!.shape[i] === 1 ? 0 : s));
    return gatherRef(x!, p.shape, out.dtype, (idx) => {
      let f = 0;
      for (let k = 0; k < st.length; k++) f += idx[off + k]! * st[k]!;
      return f;
    });
  },
  // Sum over the added leading axes and the axes that were stretched from 1.
  vjp: (_i, ct, [x], _y, p) => {
    const off = p.shape.length - x!.shape.length;
    const axes: number[] = [];
    for (let i = 0; i < p.shape.length; i++) if (i < off || (x!.shape[i - off] === 1 && p.shape[i] !== 1)) axes.push(i);
    return P.reshape(P.sum(ct, axes), x!.shape);
  },
};

export const transpose: PrimitiveDef<'transpose'> = {
  kind: 'movement',
  shape(inputs, p) {
    checkArity('transpose', inputs, 1);
    const x = inputs[0]!;
    const ok = p.perm.length === x.shape.length && [...p.perm].sort((a, b) => a - b).every((v, i) => v === i);
    if (!ok) fail('transpose', `perm [${p.perm.join(', ')}] is not a permutation of the ${x.shape.length} axes of ${fmtShape(x.shape)}`);
    return { shape: p.perm.map((a) => x.shape[a]!), dtype: x.dtype };
  },
  reference([x], p, out) {
    const st = stridesOf(x!.shape);
    const ps = p.perm.map((a) => st[a]!);
    return gatherRef(x!, out.shape, out.dtype, (idx) => flatIndex(idx, ps));
  },
  vjp: (_i, ct, _x, _y, p) => {
    const inv = new Array<number>(p.perm.length);
    p.perm.forEach((a, i) => (inv[a] = i));
    return P.transpose(ct, inv);
  },
};

export const slice: PrimitiveDef<'slice'> = {
  kind: 'movement',
  shape(inputs, p) {
    checkArity('slice', inputs, 1);
    const x = inputs[0]!;
    const r = x.shape.length;
    const ok =
      p.start.length === r &&
      p.end.length === r &&
      p.step.length === r &&
      x.shape.every((d, i) => isNat(p.start[i]!) && Number.isInteger(p.end[i]) && p.start[i]! <= p.end[i]! && p.end[i]! <= d && Number.isInteger(p.step[i]) && p.step[i]! >= 1);
    if (!ok)
      fail('slice', `invalid slice start=[${p.start.join(', ')}] end=[${p.end.join(', ')}] step=[${p.step.join(', ')}] of shape ${fmtShape(x.shape)}`);
    return { shape: x.shape.map((_, i) => Math.ceil((p.end[i]! - p.start[i]!) / p.step[i]!)), dtype: x.dtype };
  },
  reference([x], p, out) {
    const st = stridesOf(x!.shape);
    return gatherRef(x!, out.shape, out.dtype, (idx) => {
      let f = 0;
      for (let k = 0; k < idx.length; k++) f += (p.start[k]! + idx[k]! * p.step[k]!) * st[k]!;
      return f;
    });
  },
  // The VJP puts the cotangent back where it was read: zeros before, between (stride) and after.
  vjp: (_i, ct, [x], _y, p) => {
    const hi = x!.shape.map((d, k) => d - (ct.shape[k]! === 0 ? p.start[k]! : p.start[k]! + (ct.shape[k]! - 1) * p.step[k]! + 1));
    return P.pad(ct, p.start, hi, p.step.map((s) => s - 1), 0);
  },
};

export const pad: PrimitiveDef<'pad'> = {
  kind: 'movement',
  shape(inputs, p) {
    checkArity('pad', inputs, 1);
    const x = inputs[0]!;
    const r = x.shape.length;
    const ok = p.lo.length === r && p.hi.length === r && p.interior.length === r && [...p.lo, ...p.hi, ...p.interior].every(isNat);
    if (!ok)
      fail('pad', `invalid padding lo=[${p.lo.join(', ')}] hi=[${p.hi.join(', ')}] interior=[${p.interior.join(', ')}] for shape ${fmtShape(x.shape)} (non-negative integers, one per axis)`);
    check(typeof p.value === 'number', 'pad', () => `pad value must be a number, got ${String(p.value)}`);
    return { shape: x.shape.map((d, i) => p.lo[i]! + p.hi[i]! + d + Math.max(0, d - 1) * p.interior[i]!), dtype: x.dtype };
  },
  reference([x], p, out) {
    const st = stridesOf(x!.shape);
    return gatherRef(
      x!,
      out.shape,
      out.dtype,
      (idx) => {
        let f = 0;
        for (let k = 0; k < idx.length; k++) {
          const j = idx[k]! - p.lo[k]!;
          const step = p.interior[k]! + 1;
          if (j < 0 || j % step !== 0 || j / step >= x!.shape[k]!) return -1;
          f += (j / step) * st[k]!;
        }
        return f;
      },
      // stored as the dtype stores a number (a bool pad value is 0 or 1, never 0.5 or 2)
      coerceScalar(p.value, out.dtype),
    );
  },
  vjp: (_i, ct, [x], _y, p) =>
    P.slice(
      ct,
      p.lo,
      x!.shape.map((d, k) => p.lo[k]! + (d === 0 ? 0 : (d - 1) * (p.interior[k]! + 1) + 1)),
      p.interior.map((v) => v + 1),
    ),
};

export const concat: PrimitiveDef<'concat'> = {
  kind: 'movement',
  shape(inputs, p) {
    check(inputs.length >= 1, 'concat', () => 'expected at least one operand');
    const first = inputs[0]!;
    const r = first.shape.length;
    check(Number.isInteger(p.axis) && p.axis >= 0 && p.axis < r, 'concat', () => `axis ${p.axis} is out of range for rank ${r}`);
    const bad = inputs.find(
      (a: Aval) => a.dtype !== first.dtype || a.shape.length !== r || a.shape.some((d, i) => i !== p.axis && d !== first.shape[i]),
    );
    if (bad)
      fail('concat', `operands must share dtype and all dims but axis ${p.axis}; got ${inputs.map((a) => `${a.dtype}${fmtShape(a.shape)}`).join(', ')}`);
    const shape = [...first.shape];
    shape[p.axis] = inputs.reduce((s, a) => s + a.shape[p.axis]!, 0);
    return { shape, dtype: first.dtype };
  },
  reference(xs, p, out) {
    const outer = sizeOf(out.shape.slice(0, p.axis));
    const inner = sizeOf(out.shape.slice(p.axis + 1));
    const res = allocArray(out.dtype, sizeOf(out.shape));
    let pos = 0;
    for (let a = 0; a < outer; a++) {
      for (const x of xs) {
        const n = x.shape[p.axis]! * inner;
        res.set(x.data.subarray(a * n, (a + 1) * n), pos);
        pos += n;
      }
    }
    return res;
  },
  vjp: (i, ct, xs, _y, p) => {
    const offset = xs.slice(0, i).reduce((s, x) => s + x.shape[p.axis]!, 0);
    const start = ct.shape.map((_, k) => (k === p.axis ? offset : 0));
    const end = ct.shape.map((d, k) => (k === p.axis ? offset + xs[i]!.shape[k]! : d));
    return P.slice(ct, start, end);
  },
};
