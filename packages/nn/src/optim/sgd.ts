import { add, mul, sub, type Tensor, zerosLike } from '@resgrad/core';
import { flattenNamed, mapTree, zipTrees } from '../tree.js';
import { type DecayMask, type LearningRate, type Optimizer, resolveLr } from './optimizer.js';

export interface SgdOptions {
  lr?: LearningRate;
  momentum?: number;
  nesterov?: boolean;
  /** L2 weight decay as in PyTorch's SGD: wd * p is added to the gradient. */
  weightDecay?: number;
  /** Decoupled weight decay (SGDW): p -= lr * wd * p, apart from the momentum. */
  decoupled?: boolean;
  /** Which parameters are decayed (default: all, as PyTorch). See `decayWeightsOnly`. */
  decayMask?: DecayMask;
}

export interface SgdState {
  momentum: unknown;
}

/**
 * Stochastic gradient descent with momentum, as PyTorch defines it (dampening 0):
 * g = grad + wd p;  b = mu b + g;  p = p - lr (nesterov ? g + mu b : b).
 *
 * @example
 * ```ts
 * const opt = sgd({ lr: 0.1, momentum: 0.9, weightDecay: 1e-4 });
 * let optState = opt.init(params);
 * [params, optState] = opt.update(grads, optState, params);
 * ```
 */
export function sgd(options: SgdOptions = {}): Optimizer<SgdState> {
  const mu = options.momentum ?? 0;
  const wd = options.weightDecay ?? 0;
  if (!(mu >= 0)) throw new Error(`sgd: momentum must be >= 0, got ${mu}`);
  if (options.nesterov && mu === 0) throw new Error('sgd: nesterov needs a positive momentum');
  return {
    name: 'sgd',
    init: (params) => ({ momentum: mu > 0 ? mapTree(params, (p) => zerosLike(p)) : {} }),
    update(grads, state, params, opts = {}) {
      const lr = resolveLr('sgd', options.lr, opts.lr);
      const decayed = new Set(flattenNamed(params).filter(([path, p]) => wd > 0 && (options.decayMask?.(path, p) ?? true)).map(([path]) => path));
      const coupled = (g: Tensor, p: Tensor, path: string) => (!options.decoupled && decayed.has(path) ? add(g, mul(p, wd)) : g);
      const step = (p: Tensor, d: Tensor, path: string) => {
        let np = sub(p, mul(d, lr));
        if (options.decoupled && decayed.has(path)) np = sub(np, mul(mul(p, wd), lr));
        return np;
      };
      if (mu === 0) {
        const newParams = zipTrees([params, grads], ([p, g], path) => step(p!, coupled(g!, p!, path), path));
        return [newParams, state];
      }
      const bufs = zipTrees([params, grads, state.momentum as typeof params], ([p, g, b], path) => add(mul(b!, mu), coupled(g!, p!, path)));
      const newParams = zipTrees([params, grads, bufs], ([p, g, b], path) =>
        step(p!, options.nesterov ? add(coupled(g!, p!, path), mul(b!, mu)) : b!, path),
      );
      return [newParams, { momentum: bufs }];
    },
  };
}
