import { add, div, full, mul, pow, sqrt, square, sub, type Tensor, zerosLike } from '@resgrad/core';
import { flattenNamed, mapTree, zipTrees } from '../tree.js';
import { type DecayMask, type LearningRate, type Optimizer, resolveLr } from './optimizer.js';

export interface AdamOptions {
  lr?: LearningRate;
  beta1?: number;
  beta2?: number;
  eps?: number;
  /** Adam: L2 decay added to the gradient. AdamW: decoupled decay p -= lr wd p. */
  weightDecay?: number;
  decayMask?: DecayMask;
}

export interface AdamState {
  /** Number of updates so far (a float32 scalar, so a jitted step does not retrace). */
  count: Tensor;
  mu: unknown;
  nu: unknown;
}

function adamLike(name: string, decoupled: boolean, options: AdamOptions): Optimizer<AdamState> {
  const b1 = options.beta1 ?? 0.9;
  const b2 = options.beta2 ?? 0.999;
  const eps = options.eps ?? 1e-8;
  const wd = options.weightDecay ?? (decoupled ? 0.01 : 0);
  return {
    name,
    init: (params) => ({ count: full([], 0), mu: mapTree(params, (p) => zerosLike(p)), nu: mapTree(params, (p) => zerosLike(p)) }),
    update(grads, state, params, opts = {}) {
      const lr = resolveLr(name, options.lr, opts.lr);
      const decayed = new Set(flattenNamed(params).filter(([path, p]) => wd > 0 && (options.decayMask?.(path, p) ?? true)).map(([path]) => path));
      const g2 = zipTrees([grads, params], ([g, p], path) => (!decoupled && decayed.has(path) ? add(g!, mul(p!, wd)) : g!));
      const count = add(state.count, 1);
      // Bias corrections 1 - beta^t, computed in the graph from the step count.
      const c1 = sub(1, pow(full([], b1), count));
      const c2 = sub(1, pow(full([], b2), count));
      const mu = zipTrees([state.mu as typeof params, g2], ([m, g]) => add(mul(m!, b1), mul(g!, 1 - b1)));
      const nu = zipTrees([state.nu as typeof params, g2], ([v, g]) => add(mul(v!, b2), mul(square(g!), 1 - b2)));
      const newParams = zipTrees([params, mu, nu], ([p, m, v], path) => {
        const upd = div(div(m!, c1), add(sqrt(div(v!, c2)), eps));
        let np = sub(p!, mul(upd, lr));
        if (decoupled && decayed.has(path)) np = sub(np, mul(mul(p!, wd), lr));
        return np;
      });
      return [newParams, { count, mu, nu }];
    },
  };
}

/** Adam (Kingma & Ba, 2015); weight decay, if any, is L2 added to the gradient (PyTorch's Adam). */
export const adam = (options: AdamOptions = {}) => adamLike('adam', false, options);
/** AdamW (Loshchilov & Hutter, 2019): decoupled weight decay, default 0.01 as PyTorch. */
export const adamw = (options: AdamOptions = {}) => adamLike('adamw', true, options);
