import { allocArray, isDType } from '../dtype.js';
import { check } from '../errors.js';
import { threefry2x32 } from '../random/threefry.js';
import { sizeOf, stridesOf } from '../shape.js';
import { checkArity } from './common.js';
import type { PrimitiveDef } from './types.js';

const isShape = (s: readonly number[]) => Array.isArray(s) && s.every((d) => Number.isInteger(d) && d >= 0);

/** The index along `axis` of each element, as a tensor of `shape`. */
export const iota: PrimitiveDef<'iota'> = {
  kind: 'source',
  shape(inputs, p) {
    checkArity('iota', inputs, 0);
    check(isShape(p.shape), 'iota', () => `invalid shape ${JSON.stringify(p.shape)}`);
    check(Number.isInteger(p.axis) && p.axis >= 0 && p.axis < p.shape.length, 'iota', () => `axis ${p.axis} out of range for shape [${p.shape.join(', ')}]`);
    check(isDType(p.dtype) && p.dtype !== 'bool', 'iota', () => `dtype must be numeric, got ${p.dtype}`);
    return { shape: [...p.shape], dtype: p.dtype };
  },
  reference(_x, p) {
    const out = allocArray(p.dtype, sizeOf(p.shape));
    const stride = stridesOf(p.shape)[p.axis]!;
    const n = p.shape[p.axis]!;
    for (let i = 0; i < out.length; i++) out[i] = Math.floor(i / stride) % n;
    return out;
  },
  vjp: null,
};

/** Element i is word 0 of threefry2x32(key, (stream, i)), reinterpreted as int32. */
export const randomBits: PrimitiveDef<'randomBits'> = {
  kind: 'source',
  shape(inputs, p) {
    checkArity('randomBits', inputs, 1);
    const k = inputs[0]!;
    check(k.dtype === 'int32' && k.shape.length === 1 && k.shape[0] === 2, 'randomBits', () =>
      `expected a PRNG key (int32[2]), got ${k.dtype}[${k.shape.join(', ')}]`,
    );
    check(isShape(p.shape), 'randomBits', () => `invalid shape ${JSON.stringify(p.shape)}`);
    check(Number.isInteger(p.stream) && p.stream >= 0 && p.stream < 2 ** 32, 'randomBits', () => `stream must be a uint32, got ${p.stream}`);
    check(sizeOf(p.shape) <= 2 ** 31, 'randomBits', () => `at most 2^31 values per call, asked for ${sizeOf(p.shape)}`);
    return { shape: [...p.shape], dtype: 'int32' };
  },
  reference([key], p) {
    const out = new Int32Array(sizeOf(p.shape));
    const [k0, k1] = [key!.data[0]!, key!.data[1]!];
    for (let i = 0; i < out.length; i++) out[i] = threefry2x32(k0, k1, p.stream, i)[0] | 0;
    return out;
  },
  vjp: null,
};
