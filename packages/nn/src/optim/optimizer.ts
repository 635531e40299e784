import { full, type Tensor } from '@resgrad/core';

/** A learning rate: a number, or a tensor (so a jitted step takes it as an input and never retraces). */
export type LearningRate = number | Tensor;

/**
 * A pure optimizer, as in optax: `init(params) -> state`,
 * `update(grads, state, params, { lr }) -> [newParams, newState]`. States are trees of tensors,
 * so they checkpoint and jit like parameters.
 */
export interface Optimizer<S = unknown> {
  readonly name: string;
  init(params: unknown): S;
  update<P>(grads: P, state: S, params: P, options?: { lr?: LearningRate }): [P, S];
}

/** Which parameters receive weight decay, by dotted name and tensor. */
export type DecayMask = (path: string, param: Tensor) => boolean;

/** The common choice of excluding BatchNorm parameters and biases: decay only tensors of rank >= 2. */
export const decayWeightsOnly: DecayMask = (_path, p) => p.rank >= 2;

export function resolveLr(name: string, dflt: LearningRate | undefined, given: LearningRate | undefined): LearningRate {
  const lr = given ?? dflt;
  if (lr === undefined) throw new Error(`${name}.update: no learning rate: pass { lr } (e.g. schedule(step)) or set lr when creating the optimizer`);
  return lr;
}

export const scalarLike = (v: number) => full([], v);
