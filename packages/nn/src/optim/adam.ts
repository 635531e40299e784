import { add, cast, type DType, div, full, mul, sqrt, square, sub, tanh, type Tensor, zerosLike } from '@resgrad/core';
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

/**
 * The bias correction 1 - beta^t, as -expm1(t ln beta) = -2u / (1 - u) with u = tanh(t ln(beta) / 2).
 * Written so, it has no cancellation: `1 - pow(beta, t)` in float32 loses about five digits at
 * small t (0.999 is not a float32 number: 1 - fl(0.999) is off by 1.3e-5 relative).
 */
function biasCorrection(beta: number, t: Tensor): Tensor {
  const u = tanh(mul(t, Math.log(beta) / 2));
  return div(mul(u, -2), sub(1, u));
}

function adamLike(name: string, decoupled: boolean, options: AdamOptions): Optimizer<AdamState> {
  const b1 = options.beta1 ?? 0.9;
  const b2 = options.beta2 ?? 0.999;
  for (const [k, b] of [['beta1', b1], ['beta2', b2]] as const)
    if (!(b >= 0 && b < 1)) throw new Error(`${name}: ${k} must be in [0, 1), got ${b}`);
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
      // Bias corrections 1 - beta^t, computed in the graph from the step count, in each
      // parameter dtype (float64 parameters get float64 corrections).
      const corrections = new Map<DType, [Tensor, Tensor]>();
      const correctionsFor = (dtype: DType): [Tensor, Tensor] => {
        let c = corrections.get(dtype);
        if (!c) {
          const t = cast(count, dtype);
          c = [biasCorrection(b1, t), biasCorrection(b2, t)];
          corrections.set(dtype, c);
        }
        return c;
      };
      const mu = zipTrees([state.mu as typeof params, g2], ([m, g]) => add(mul(m!, b1), mul(g!, 1 - b1)));
      const nu = zipTrees([state.nu as typeof params, g2], ([v, g]) => add(mul(v!, b2), mul(square(g!), 1 - b2)));
      const newParams = zipTrees([params, mu, nu], ([p, m, v], path) => {
        const [c1, c2] = correctionsFor(p!.dtype);
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
