import { add, mean, mul, ones, reshape, rsqrt, sub, type Tensor, variance, zeros } from '@resgrad/core';
import { EMPTY, type Layer, layerError } from '../layer.js';

export interface BatchNormOptions {
  /** Weight of the new batch statistic in the running averages (PyTorch's convention): 0.1. */
  momentum?: number;
  eps?: number;
  /** Initial scale (gamma); 0 makes a residual branch start as the zero function. */
  scaleInit?: number;
}

/**
 * Batch normalisation over all axes but the channel axis 1 (NCHW or NC). Training uses the
 * batch statistics and updates the running mean and (unbiased) variance in `state`;
 * evaluation uses the running ones. Parameters `weight` (gamma) and `bias` (beta), state
 * `running_mean` and `running_var`, named as in PyTorch.
 *
 * y = (x - mean) / sqrt(var + eps) * weight + bias
 */
export function batchNorm(options: BatchNormOptions = {}): Layer {
  const momentum = options.momentum ?? 0.1;
  const eps = options.eps ?? 1e-5;
  if (!(momentum >= 0 && momentum <= 1)) layerError('batchNorm', `momentum must be in [0, 1], got ${momentum}`);
  if (!(eps > 0)) layerError('batchNorm', `eps must be positive, got ${eps}`);
  return {
    kind: 'batchNorm',
    init(_key, inputShape) {
      if (inputShape.length < 2) layerError('batchNorm', `expected an input of rank >= 2 with channels on axis 1, got [${inputShape.join(', ')}]`);
      const c = inputShape[1]!;
      const weight = options.scaleInit === undefined || options.scaleInit === 1 ? ones([c]) : mul(ones([c]), options.scaleInit);
      return {
        params: { weight, bias: zeros([c]) },
        state: { running_mean: zeros([c]), running_var: ones([c]) },
        outputShape: [...inputShape],
      };
    },
    apply(params, state, x, { train }) {
      if (x.rank < 2) layerError('batchNorm', `expected an input of rank >= 2, got shape [${x.shape.join(', ')}]`);
      const c = x.shape[1]!;
      const w = params.weight as Tensor;
      if (w.shape[0] !== c) layerError('batchNorm', `input has ${c} channels but the layer was initialised for ${w.shape[0]}`);
      const axes = x.shape.map((_, i) => i).filter((i) => i !== 1);
      const bshape = x.shape.map((d, i) => (i === 1 ? d : 1));
      const col = (t: Tensor) => reshape(t, bshape);
      let m: Tensor;
      let v: Tensor;
      let newState = state;
      if (train) {
        m = mean(x, axes);
        v = variance(x, axes);
        const n = x.size / c;
        const unbiased = mul(v, n / Math.max(n - 1, 1));
        newState = {
          running_mean: add(mul(state.running_mean as Tensor, 1 - momentum), mul(m, momentum)),
          running_var: add(mul(state.running_var as Tensor, 1 - momentum), mul(unbiased, momentum)),
        };
      } else {
        m = state.running_mean as Tensor;
        v = state.running_var as Tensor;
      }
      const scale = mul(rsqrt(add(v, eps)), w);
      const y = add(mul(sub(x, col(m)), col(scale)), col(params.bias as Tensor));
      return [y, newState ?? EMPTY];
    },
  };
}
