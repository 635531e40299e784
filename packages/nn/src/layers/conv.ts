import { add, conv2d as convOp, type Conv2dOptions, evalShape, random, reshape, type Tensor } from '@resgrad/core';
import { heNormal, type Initializer, lecunUniform } from '../init.js';
import { EMPTY, type Layer, layerError } from '../layer.js';

export interface Conv2dLayerOptions {
  stride?: number | [number, number];
  padding?: Conv2dOptions['padding'];
  dilation?: number | [number, number];
  groups?: number;
  /** Add a bias (default false: the paper's convs feed BatchNorm, which has its own shift). */
  bias?: boolean;
  /** Weight initializer; default He normal with fan-out, as the reference ResNets. */
  init?: Initializer;
}

const pair = (v: number | [number, number]): [number, number] => (typeof v === "number" ? [v, v] : v);

/**
 * 2-d convolution layer (NCHW in, OIHW weights named `weight`, optional `bias`).
 *
 * @example
 * ```ts
 * const conv = conv2d(16, 3, { padding: 1 });
 * const { params, outputShape } = conv.init(random.key(0), [8, 3, 32, 32]); // [8, 16, 32, 32]
 * ```
 */
export function conv2d(outChannels: number, kernel: number | [number, number], options: Conv2dLayerOptions = {}): Layer {
  const [kh, kw] = pair(kernel);
  const groups = options.groups ?? 1;
  if (!Number.isInteger(outChannels) || outChannels < 1) layerError('conv2d', `outChannels must be a positive integer, got ${outChannels}`);
  const opts: Conv2dOptions = { stride: options.stride, padding: options.padding, dilation: options.dilation, groups };
  const s = pair(options.stride ?? 1);
  return {
    kind: `conv2d ${kh}x${kw}${s[0] > 1 ? `/${s[0]}` : ''}, ${outChannels}`,
    init(key, inputShape) {
      if (inputShape.length !== 4) layerError('conv2d', `expected an NCHW input shape, got [${inputShape.join(', ')}]`);
      const inC = inputShape[1]!;
      if (inC % groups !== 0) layerError('conv2d', `input channels ${inC} are not divisible by groups=${groups}`);
      const [kW, kB] = random.split(key);
      const shape = [outChannels, inC / groups, kh, kw];
      const weight = (options.init ?? heNormal({ mode: 'fanOut' }))(kW!, shape);
      const params: Record<string, Tensor> = { weight };
      if (options.bias) params.bias = lecunUniform((inC / groups) * kh * kw)(kB!, [outChannels]);
      // The op's own shape rule gives the output shape, by tracing alone.
      const [out] = evalShape((x) => convOp(x, weight, opts), { shape: inputShape, dtype: 'float32' });
      return { params, state: EMPTY, outputShape: [...out!.shape] };
    },
    apply(params, _state, x) {
      let y = convOp(x, params.weight as Tensor, opts);
      if (params.bias) y = add(y, reshape(params.bias as Tensor, [1, outChannels, 1, 1]));
      return [y, EMPTY];
    },
  };
}

