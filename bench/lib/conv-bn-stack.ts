// The large graph of the trace/compile benchmark: `depth` layers of 3x3 conv -> BatchNorm
// (training mode: batch statistics) -> ReLU, the layer pattern of a CIFAR ResNet-56, with a
// mean loss. BatchNorm is written with core ops (mean/variance over [0, 2, 3], scale, shift)
// because that is how the nn package builds it: the graph the compiler sees is the real one.
import { add, conv2d, mean, mul, ones, random, relu, reshape, rsqrt, sub, variance, zeros, type Tensor } from '@resgrad/core';

export interface StackParams {
  layers: { w: Tensor; gamma: Tensor; beta: Tensor }[];
}

export interface StackConfig {
  depth: number;
  batch: number;
  channels: number;
  size: number;
}

export function initStack(cfg: StackConfig, seed = 0): { params: StackParams; x: Tensor } {
  const keys = random.split(random.key(seed), cfg.depth + 1);
  const c = cfg.channels;
  // He initialisation keeps activations O(1) through the stack, so the loss stays finite.
  const std = Math.sqrt(2 / (9 * c));
  const layers = keys.slice(1).map((k) => ({
    w: random.normal(k, [c, c, 3, 3], { std }),
    gamma: ones([c]),
    beta: zeros([c]),
  }));
  const x = random.normal(keys[0]!, [cfg.batch, c, cfg.size, cfg.size]);
  return { params: { layers }, x };
}

function batchNorm(x: Tensor, gamma: Tensor, beta: Tensor): Tensor {
  const c = x.shape[1]!;
  const mu = mean(x, [0, 2, 3], { keepDims: true });
  const v = variance(x, [0, 2, 3], { keepDims: true });
  const xhat = mul(sub(x, mu), rsqrt(add(v, 1e-5)));
  return add(mul(xhat, reshape(gamma, [1, c, 1, 1])), reshape(beta, [1, c, 1, 1]));
}

export function stackLoss(params: StackParams, x: Tensor): Tensor {
  let h = x;
  for (const { w, gamma, beta } of params.layers) h = relu(batchNorm(conv2d(h, w, { padding: 1 }), gamma, beta));
  return mean(h);
}
