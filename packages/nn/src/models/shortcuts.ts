import { pad, slice } from '@resgrad/core';
import { batchNorm } from '../layers/batchnorm.js';
import { conv2d } from '../layers/conv.js';
import { stateless } from '../layers/simple.js';
import type { Layer } from '../layer.js';
import { serial } from '../layer.js';

/**
 * The paper's shortcut options where a block maps inChannels -> outChannels with `stride`:
 * A: identity; where the shape changes, subsample by the stride and zero-pad the new channels
 *    (after the existing ones), so no parameters are added.
 * B: identity where the shape is kept, a 1x1 projection (conv + BN) where it changes.
 * C: a 1x1 projection on every shortcut.
 */
export type ShortcutOption = 'A' | 'B' | 'C';

/** The shortcut layer for a block, or undefined for the plain identity. */
export function shortcutFor(option: ShortcutOption, inChannels: number, outChannels: number, stride: number): Layer | undefined {
  const changes = stride !== 1 || inChannels !== outChannels;
  if (option === 'A') return changes ? subsampleAndPad(outChannels - inChannels, stride) : undefined;
  if (option === 'B' && !changes) return undefined;
  if (option === 'B' || option === 'C') return projection(outChannels, stride);
  throw new Error(`shortcut: option must be 'A', 'B' or 'C', got '${String(option)}'`);
}

/** Option A: x[:, :, ::s, ::s] followed by `extra` zero channels. */
export function subsampleAndPad(extraChannels: number, stride: number): Layer {
  if (extraChannels < 0) throw new Error(`shortcut A: cannot shrink channels (extra = ${extraChannels})`);
  return stateless(`shortcut A /${stride} +${extraChannels}ch`, (x) => {
    const sub = stride === 1 ? x : slice(x, [null, null, null, null], undefined, [1, 1, stride, stride]);
    return extraChannels ? pad(sub, [[0, 0], [0, extraChannels], [0, 0], [0, 0]]) : sub;
  });
}

/** Options B and C: a 1x1 convolution with the stride, then BatchNorm (torchvision's `downsample`). */
export function projection(outChannels: number, stride: number): Layer {
  return serial([conv2d(outChannels, 1, { stride }), batchNorm()]);
}
