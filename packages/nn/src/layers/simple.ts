import {
  avgPool2d, div, evalShape, globalAvgPool as gap, maxPool2d, type Pool2dOptions, random, relu as reluOp, reshape,
  type Tensor, where, zerosLike,
} from '@resgrad/core';
import { EMPTY, type Layer, layerError } from '../layer.js';

/** A layer without parameters or state that applies `f`. */
export function stateless(kind: string, f: (x: Tensor) => Tensor): Layer {
  return {
    kind,
    init(_key, inputShape) {
      const [out] = evalShape((x) => f(x), { shape: inputShape, dtype: 'float32' });
      return { params: EMPTY, state: EMPTY, outputShape: [...out!.shape] };
    },
    apply: (_p, _s, x) => [f(x), EMPTY],
  };
}

/** max(x, 0). */
export const relu = (): Layer => stateless('relu', reluOp);
/** The identity. */
export const identity = (): Layer => stateless('identity', (x) => x);
/** Max pooling (NCHW). */
export const maxPool = (options: Pool2dOptions = {}): Layer => stateless('maxPool', (x) => maxPool2d(x, options));
/** Average pooling (NCHW). */
export const avgPool = (options: Pool2dOptions = {}): Layer => stateless('avgPool', (x) => avgPool2d(x, options));
/** Mean over H and W: [N, C, H, W] -> [N, C]. */
export const globalAvgPool = (): Layer => stateless('globalAvgPool', gap);
/** [N, ...] -> [N, prod(...)]. */
export const flatten = (): Layer => stateless('flatten', (x) => reshape(x, [x.shape[0]!, -1]));

/**
 * Inverted dropout: in training, zeroes each element with probability `rate` and scales the
 * rest by 1 / (1 - rate); the identity in evaluation. Needs `key` in training.
 */
export function dropout(rate: number): Layer {
  if (!(rate >= 0 && rate < 1)) layerError('dropout', `rate must be in [0, 1), got ${rate}`);
  return {
    kind: `dropout ${rate}`,
    init: (_k, inputShape) => ({ params: EMPTY, state: EMPTY, outputShape: [...inputShape] }),
    apply(_p, _s, x, { train, key }) {
      if (!train || rate === 0) return [x, EMPTY];
      if (!key) layerError('dropout', 'training mode needs a PRNG key: pass { train: true, key }');
      const keep = random.bernoulli(key, 1 - rate, x.shape);
      return [where(keep, div(x, 1 - rate), zerosLike(x)), EMPTY];
    },
  };
}
