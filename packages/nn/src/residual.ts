import { add, random, relu, type Tensor } from '@resgrad/core';
import { childOptions, EMPTY, type Layer, layerError, type ParamTree } from './layer.js';

export interface ResidualOptions {
  /**
   * 'post' (the paper's): relu(F(x) + shortcut(x)). 'none': F(x) + shortcut(x), for
   * pre-activation blocks whose F starts with BN-ReLU (He et al., "Identity Mappings", 2016).
   */
  activation?: 'post' | 'none';
}

const SHORTCUT = 'downsample';

/**
 * The residual block y = relu(F(x) + shortcut(x)). F's parameters sit at the block's level
 * and the shortcut's under `downsample`, as in torchvision (`layer2.0.conv1.weight`,
 * `layer2.0.downsample.0.weight`). Without a shortcut, it is the identity.
 *
 * @example
 * ```ts
 * const block = residual(serial({ conv1: conv2d(16, 3, { padding: 1 }), bn1: batchNorm() }));
 * ```
 */
export function residual(F: Layer, shortcut?: Layer, options: ResidualOptions = {}): Layer {
  const post = (options.activation ?? 'post') === 'post';
  if (F.children && SHORTCUT in F.children) layerError('residual', `F must not have a child named '${SHORTCUT}'`);
  const split = (tree: ParamTree): [ParamTree, ParamTree] => {
    const { [SHORTCUT]: sc, ...rest } = tree as Record<string, ParamTree>;
    return [rest, sc ?? EMPTY];
  };
  return {
    kind: post ? 'residual' : 'residual (no post-activation)',
    children: shortcut ? { ...(F.children ?? { F }), [SHORTCUT]: shortcut } : (F.children ?? { F }),
    init(key, inputShape) {
      const [kF, kS] = random.split(key);
      const f = F.init(kF!, inputShape);
      const s = shortcut?.init(kS!, inputShape);
      const scShape = s?.outputShape ?? [...inputShape];
      if (scShape.join() !== f.outputShape.join())
        layerError('residual', `F gives shape [${f.outputShape.join(', ')}] but the shortcut gives [${scShape.join(', ')}]`);
      const withShortcut = (a: ParamTree, b: ParamTree | undefined) =>
        b && Object.keys(b).length ? { ...a, [SHORTCUT]: b } : a;
      return {
        params: withShortcut(f.params, s?.params),
        state: withShortcut(f.state, s?.state),
        outputShape: f.outputShape,
      };
    },
    apply(params, state, x, options) {
      const [fp, sp] = split(params);
      const [fs, ss] = split(state);
      // Separate randomness for the two branches (dropout inside F and the shortcut).
      const [kF, kS] = options.key && shortcut ? random.split(options.key) : [options.key, undefined];
      const [fx, fState] = F.apply(fp, fs, x, { ...options, key: kF });
      let sx: Tensor = x;
      let sState: ParamTree = EMPTY;
      if (shortcut) [sx, sState] = shortcut.apply(sp, ss, x, { ...childOptions(options, SHORTCUT), key: kS });
      const sum = add(fx, sx);
      const newState = Object.keys(sState).length ? { ...fState, [SHORTCUT]: sState } : fState;
      return [post ? relu(sum) : sum, newState];
    },
  };
}
