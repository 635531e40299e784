import { add, div, maximum, mul, sqrt, square, sum, type Tensor } from '@resgrad/core';
import { flattenNamed, mapTree } from '../tree.js';

/** sqrt of the sum of squares of every gradient. */
export function globalNorm(grads: unknown): Tensor {
  const leaves = flattenNamed(grads).map(([, g]) => sum(square(g)));
  if (leaves.length === 0) throw new Error('globalNorm: the tree has no tensors');
  return sqrt(leaves.reduce((a, b) => add(a, b)));
}

/**
 * Scales all gradients by min(1, maxNorm / globalNorm), so their joint norm is at most
 * `maxNorm`. Returns the clipped gradients and the norm before clipping.
 */
export function clipByGlobalNorm<G>(grads: G, maxNorm: number): [G, Tensor] {
  if (!(maxNorm > 0)) throw new Error(`clipByGlobalNorm: maxNorm must be positive, got ${maxNorm}`);
  const norm = globalNorm(grads);
  const scale = div(maxNorm, maximum(norm, maxNorm));
  return [mapTree(grads, (g) => mul(g, scale)), norm];
}
