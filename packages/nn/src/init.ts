import { full, random, type Tensor } from '@resgrad/core';

/** Makes a parameter tensor of a shape from a key. */
export type Initializer = (key: random.Key, shape: readonly number[]) => Tensor;

/** Fan-in and fan-out of a weight: [out, in] for linear, [O, I, KH, KW] for conv. */
export function fans(shape: readonly number[]): { fanIn: number; fanOut: number } {
  const receptive = shape.slice(2).reduce((a, b) => a * b, 1);
  return { fanIn: (shape[1] ?? 1) * receptive, fanOut: (shape[0] ?? 1) * receptive };
}

/**
 * He (Kaiming) normal: N(0, 2 / fan) for ReLU networks (He et al., 2015). `mode: 'fanOut'`
 * is what the reference ResNet implementations use for convolutions.
 */
export function heNormal(options: { mode?: 'fanIn' | 'fanOut'; gain?: number } = {}): Initializer {
  return (key, shape) => {
    const { fanIn, fanOut } = fans(shape);
    const fan = options.mode === 'fanOut' ? fanOut : fanIn;
    const gain = options.gain ?? Math.SQRT2;
    return random.normal(key, shape, { std: gain / Math.sqrt(fan) });
  };
}

/** Glorot (Xavier) uniform: U(-a, a), a = sqrt(6 / (fanIn + fanOut)). */
export function xavierUniform(): Initializer {
  return (key, shape) => {
    const { fanIn, fanOut } = fans(shape);
    const a = Math.sqrt(6 / (fanIn + fanOut));
    return random.uniform(key, shape, { minval: -a, maxval: a });
  };
}

/** Glorot (Xavier) normal: N(0, 2 / (fanIn + fanOut)). */
export function xavierNormal(): Initializer {
  return (key, shape) => {
    const { fanIn, fanOut } = fans(shape);
    return random.normal(key, shape, { std: Math.sqrt(2 / (fanIn + fanOut)) });
  };
}

/** U(-1/sqrt(fanIn), 1/sqrt(fanIn)): PyTorch's default for linear layers (weights and biases). */
export function lecunUniform(fanIn?: number): Initializer {
  return (key, shape) => {
    const a = 1 / Math.sqrt(fanIn ?? fans(shape).fanIn);
    return random.uniform(key, shape, { minval: -a, maxval: a });
  };
}

/** A constant. */
export function constant(value: number): Initializer {
  return (_key, shape) => full(shape, value);
}
