import { add, matmul, random, type Tensor, transpose } from '@resgrad/core';
import { type Initializer, lecunUniform } from '../init.js';
import { EMPTY, type Layer, layerError } from '../layer.js';

export interface LinearOptions {
  bias?: boolean;
  /** Weight initializer; default PyTorch's U(-1/sqrt(in), 1/sqrt(in)). */
  init?: Initializer;
}

/**
 * Fully connected layer y = x W^T + b on [N, in] inputs; `weight` is [out, in] as in PyTorch.
 *
 * @example
 * ```ts
 * const fc = linear(10);
 * const { params } = fc.init(random.key(0), [8, 64]); // weight [10, 64], bias [10]
 * ```
 */
export function linear(outFeatures: number, options: LinearOptions = {}): Layer {
  if (!Number.isInteger(outFeatures) || outFeatures < 1) layerError('linear', `outFeatures must be a positive integer, got ${outFeatures}`);
  const withBias = options.bias ?? true;
  return {
    kind: `linear ${outFeatures}`,
    init(key, inputShape) {
      if (inputShape.length < 1) layerError('linear', 'expected an input with a feature axis');
      const inF = inputShape[inputShape.length - 1]!;
      const [kW, kB] = random.split(key);
      const params: Record<string, Tensor> = { weight: (options.init ?? lecunUniform())(kW!, [outFeatures, inF]) };
      if (withBias) params.bias = lecunUniform(inF)(kB!, [outFeatures]);
      return { params, state: EMPTY, outputShape: [...inputShape.slice(0, -1), outFeatures] };
    },
    apply(params, _state, x) {
      const w = params.weight as Tensor;
      if (x.shape[x.rank - 1] !== w.shape[1])
        layerError('linear', `input has ${x.shape[x.rank - 1]} features (shape [${x.shape.join(', ')}]) but the weight is [${w.shape.join(', ')}]`);
      let y = matmul(x, transpose(w));
      if (params.bias) y = add(y, params.bias as Tensor);
      return [y, EMPTY];
    },
  };
}
