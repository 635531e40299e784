import { type Tensor, random, ResgradError } from '@resgrad/core';

/** A nested object of tensors: a layer's parameters or its state. */
export interface ParamTree {
  readonly [name: string]: Tensor | ParamTree;
}

/** What a layer's `init` returns. */
export interface Initialized {
  params: ParamTree;
  state: ParamTree;
  outputShape: number[];
}

export interface ApplyOptions {
  /** Training mode: batch statistics in BatchNorm, dropout active. */
  train: boolean;
  /** Randomness for dropout; required only when a dropout layer runs in training mode. */
  key?: random.Key;
  /**
   * Called with each named sub-layer's output (dotted name, e.g. `layer1.0.bn2`), to inspect
   * responses (the paper's Fig. 7) without changing the model.
   */
  probe?: (name: string, output: Tensor) => void;
}

/** Options for a child named `name`: its probe reports names under that prefix. */
export function childOptions(options: ApplyOptions, name: string): ApplyOptions {
  const { probe } = options;
  return probe ? { ...options, probe: (n, t) => probe(`${name}.${n}`, t) } : options;
}

/**
 * A layer is a pair of pure functions. `init(key, inputShape)` makes parameters and state;
 * `apply(params, state, x, { train })` returns the output and the new state. Neither keeps
 * anything between calls, so layers compose and transform (grad, jit) freely.
 *
 * @example
 * ```ts
 * const layer = serial({ fc: linear(10), act: relu() });
 * const { params, state } = layer.init(random.key(0), [8, 32]);
 * const [y] = layer.apply(params, state, ones([8, 32]), { train: false });
 * ```
 */
export interface Layer {
  /** A short description for summaries (`conv2d 3x3/2, 32`). */
  readonly kind: string;
  init(key: random.Key, inputShape: readonly number[]): Initialized;
  apply(params: ParamTree, state: ParamTree, x: Tensor, options: ApplyOptions): [Tensor, ParamTree];
  /** Named sub-layers, for summaries and tree names. */
  readonly children?: Readonly<Record<string, Layer>>;
}

export function layerError(layer: string, message: string): never {
  throw new ResgradError(layer, message);
}

export const EMPTY: ParamTree = Object.freeze({});

const isEmpty = (t: ParamTree | undefined) => !t || Object.keys(t).length === 0;

/**
 * Layers applied in order. Given an object, its keys name the children (and their parameters,
 * as in `layer1.0.conv1.weight`); given a list, children are named 0, 1, 2, ...
 *
 * @example
 * ```ts
 * const block = serial({ conv1: conv2d(16, 3, { padding: 1 }), bn1: batchNorm(), relu: relu() });
 * ```
 */
export function serial(layers: Readonly<Record<string, Layer>> | readonly Layer[]): Layer {
  const entries: [string, Layer][] = Array.isArray(layers)
    ? layers.map((l, i) => [String(i), l] as [string, Layer])
    : Object.entries(layers as Record<string, Layer>);
  for (const [name, l] of entries)
    if (!l || typeof l.init !== 'function') layerError('serial', `child '${name}' is not a layer (got ${typeof l})`);
  return {
    kind: 'serial',
    children: Object.fromEntries(entries),
    init(key, inputShape) {
      const keys = entries.length ? random.split(key, entries.length) : [];
      const params: Record<string, ParamTree> = {};
      const state: Record<string, ParamTree> = {};
      let shape = [...inputShape];
      entries.forEach(([name, l], i) => {
        const r = l.init(keys[i]!, shape);
        if (!isEmpty(r.params)) params[name] = r.params;
        if (!isEmpty(r.state)) state[name] = r.state;
        shape = r.outputShape;
      });
      return { params, state, outputShape: shape };
    },
    apply(params, state, x, options) {
      const newState: Record<string, ParamTree> = {};
      const keys = options.key && options.train ? random.split(options.key, entries.length) : undefined;
      let y = x;
      entries.forEach(([name, l], i) => {
        const [out, s] = l.apply((params[name] as ParamTree) ?? EMPTY, (state[name] as ParamTree) ?? EMPTY, y, {
          ...childOptions(options, name),
          key: keys?.[i],
        });
        options.probe?.(name, out);
        if (!isEmpty(s)) newState[name] = s;
        y = out;
      });
      return [y, newState];
    },
  };
}
