import { batchNorm } from '../layers/batchnorm.js';
import { conv2d } from '../layers/conv.js';
import { linear } from '../layers/linear.js';
import { globalAvgPool, maxPool, relu } from '../layers/simple.js';
import { type Layer, layerError, serial } from '../layer.js';
import { residual } from '../residual.js';
import { type ShortcutOption, shortcutFor } from './shortcuts.js';

export interface BlockOptions {
  shortcut: ShortcutOption;
  /** A plain block: the same layers without the shortcut (the paper's plain nets). */
  plain: boolean;
  /** Start each residual branch as zero: the last BN of each block has scale 0. */
  zeroInitResidual: boolean;
}

const bn = (zero: boolean) => batchNorm(zero ? { scaleInit: 0 } : {});

/** Two 3x3 convolutions (conv-BN-ReLU-conv-BN), then the shortcut and ReLU. */
export function basicBlock(inChannels: number, outChannels: number, stride: number, o: BlockOptions): Layer {
  const F = {
    conv1: conv2d(outChannels, 3, { stride, padding: 1 }),
    bn1: batchNorm(),
    relu1: relu(),
    conv2: conv2d(outChannels, 3, { padding: 1 }),
    bn2: bn(o.zeroInitResidual && !o.plain),
  };
  if (o.plain) return serial({ ...F, relu2: relu() });
  return residual(serial(F), shortcutFor(o.shortcut, inChannels, outChannels, stride));
}

/**
 * 1x1 (reduce) - 3x3 - 1x1 (expand x4) bottleneck. The stride sits on the first 1x1 conv as
 * in the paper (`strideOn: '1x1'`), or on the 3x3 conv as in torchvision ("ResNet v1.5").
 */
export function bottleneckBlock(inChannels: number, planes: number, stride: number, o: BlockOptions & { strideOn: '1x1' | '3x3' }): Layer {
  const out = planes * 4;
  const s1 = o.strideOn === '1x1' ? stride : 1;
  const s3 = o.strideOn === '3x3' ? stride : 1;
  const F = {
    conv1: conv2d(planes, 1, { stride: s1 }),
    bn1: batchNorm(),
    relu1: relu(),
    conv2: conv2d(planes, 3, { stride: s3, padding: 1 }),
    bn2: batchNorm(),
    relu2: relu(),
    conv3: conv2d(out, 1),
    bn3: bn(o.zeroInitResidual && !o.plain),
  };
  if (o.plain) return serial({ ...F, relu3: relu() });
  return residual(serial(F), shortcutFor(o.shortcut, inChannels, out, stride));
}

export interface ResnetCifarOptions {
  /** 6n + 2: 20, 32, 44, 56, 110, 1202 in the paper. */
  depth: number;
  /** Default 'A', the paper's choice for CIFAR-10. */
  shortcut?: ShortcutOption;
  plain?: boolean;
  numClasses?: number;
  zeroInitResidual?: boolean;
}

/**
 * The paper's CIFAR-10 network (section 4.2): a 3x3 conv with 16 filters, three stages of n
 * blocks on 32, 16 and 8 px maps with 16, 32 and 64 filters (stride 2 at the first conv of
 * stages 2 and 3), global average pooling and a 10-way linear layer: 6n + 2 weighted layers.
 * Names follow the common PyTorch re-implementations: conv1, bn1, layer1..3, fc.
 *
 * @example
 * ```ts
 * const net = resnetCifar({ depth: 20 });
 * const { params, state } = net.init(random.key(0), [128, 3, 32, 32]);
 * countParams(params); // 269722
 * ```
 */
export function resnetCifar(options: ResnetCifarOptions): Layer {
  const { depth } = options;
  if (!Number.isInteger(depth) || depth < 8 || (depth - 2) % 6 !== 0)
    layerError('resnetCifar', `depth must be 6n + 2 with n >= 1 (20, 32, 44, 56, 110, 1202), got ${depth}`);
  const n = (depth - 2) / 6;
  const o: BlockOptions = { shortcut: options.shortcut ?? 'A', plain: options.plain ?? false, zeroInitResidual: options.zeroInitResidual ?? false };
  const widths = [16, 32, 64];
  const stages: Record<string, Layer> = {};
  let inC = 16;
  widths.forEach((w, s) => {
    const blocks: Layer[] = [];
    for (let b = 0; b < n; b++) {
      blocks.push(basicBlock(inC, w, s > 0 && b === 0 ? 2 : 1, o));
      inC = w;
    }
    stages[`layer${s + 1}`] = serial(blocks);
  });
  return serial({
    conv1: conv2d(16, 3, { padding: 1 }),
    bn1: batchNorm(),
    relu: relu(),
    ...stages,
    avgpool: globalAvgPool(),
    fc: linear(options.numClasses ?? 10),
  });
}

/** The named CIFAR-10 depths of the paper. */
export const resnet20 = (o: Omit<ResnetCifarOptions, 'depth'> = {}) => resnetCifar({ ...o, depth: 20 });
export const resnet32 = (o: Omit<ResnetCifarOptions, 'depth'> = {}) => resnetCifar({ ...o, depth: 32 });
export const resnet44 = (o: Omit<ResnetCifarOptions, 'depth'> = {}) => resnetCifar({ ...o, depth: 44 });
export const resnet56 = (o: Omit<ResnetCifarOptions, 'depth'> = {}) => resnetCifar({ ...o, depth: 56 });
export const resnet110 = (o: Omit<ResnetCifarOptions, 'depth'> = {}) => resnetCifar({ ...o, depth: 110 });
export const resnet1202 = (o: Omit<ResnetCifarOptions, 'depth'> = {}) => resnetCifar({ ...o, depth: 1202 });

export interface ResnetImagenetOptions {
  depth: 18 | 34 | 50 | 101 | 152;
  /** Default 'B' (projections where dimensions grow), as torchvision. */
  shortcut?: ShortcutOption;
  plain?: boolean;
  numClasses?: number;
  zeroInitResidual?: boolean;
  /** Where bottlenecks put the stride: '1x1' as the paper (default), '3x3' as torchvision. */
  strideOn?: '1x1' | '3x3';
}

const IMAGENET_BLOCKS: Record<number, { bottleneck: boolean; blocks: number[] }> = {
  18: { bottleneck: false, blocks: [2, 2, 2, 2] },
  34: { bottleneck: false, blocks: [3, 4, 6, 3] },
  50: { bottleneck: true, blocks: [3, 4, 6, 3] },
  101: { bottleneck: true, blocks: [3, 4, 23, 3] },
  152: { bottleneck: true, blocks: [3, 8, 36, 3] },
};

/**
 * The paper's ImageNet networks (Table 1): 7x7/2 conv with 64 filters, 3x3/2 max pool, four
 * stages at 56, 28, 14, 7 px with 64, 128, 256, 512 base filters, global average pool and a
 * 1000-way linear layer. Names as torchvision, so its weights map over.
 */
export function resnetImagenet(options: ResnetImagenetOptions): Layer {
  const spec = IMAGENET_BLOCKS[options.depth];
  if (!spec) layerError('resnetImagenet', `depth must be 18, 34, 50, 101 or 152, got ${options.depth}`);
  const o = {
    shortcut: options.shortcut ?? 'B',
    plain: options.plain ?? false,
    zeroInitResidual: options.zeroInitResidual ?? false,
    strideOn: options.strideOn ?? '1x1',
  } as const;
  const stages: Record<string, Layer> = {};
  let inC = 64;
  [64, 128, 256, 512].forEach((planes, s) => {
    const blocks: Layer[] = [];
    for (let b = 0; b < spec.blocks[s]!; b++) {
      const stride = s > 0 && b === 0 ? 2 : 1;
      if (spec.bottleneck) {
        blocks.push(bottleneckBlock(inC, planes, stride, o));
        inC = planes * 4;
      } else {
        blocks.push(basicBlock(inC, planes, stride, o));
        inC = planes;
      }
    }
    stages[`layer${s + 1}`] = serial(blocks);
  });
  return serial({
    conv1: conv2d(64, 7, { stride: 2, padding: 3 }),
    bn1: batchNorm(),
    relu: relu(),
    maxpool: maxPool({ kernel: 3, stride: 2, padding: 1 }),
    ...stages,
    avgpool: globalAvgPool(),
    fc: linear(options.numClasses ?? 1000),
  });
}
