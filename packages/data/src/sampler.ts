// Seeded batches without threads: the data order and augmentation words, and batches made on
// the calling thread. Runs anywhere; BatchLoader (Node) prepares the same batches in workers.
import { threefry2x32 } from '@resgrad/core';
import { fillBatch } from './augment.js';
import { IMAGE_BYTES, type Split } from './cifar10/format.js';

/** How a {@link BatchSampler} makes batches. */
export interface SamplerOptions {
  batchSize: number;
  /** Seed of the data order and augmentation: same seed, same batches. */
  seed: number;
  /** The paper's augmentation (pad 4, random crop, random flip); off for evaluation. */
  augment: boolean;
  /** Per-pixel mean to subtract (3072 values, 0-255 units); see `pixelMean`. */
  mean: Float32Array;
  /** Multiplies the mean-subtracted pixels (default 1/64, so inputs are of order 1). */
  scale?: number;
  /** Shuffle each epoch (default true). */
  shuffle?: boolean;
  /** Drop the last incomplete batch (default: true when shuffling). */
  dropLast?: boolean;
}

export interface Batch {
  /** [B, 3, 32, 32] float32, NCHW. */
  images: Float32Array;
  /** [B] int32 class indices. */
  labels: Int32Array;
  size: number;
  epoch: number;
  index: number;
  /** Milliseconds the consumer waited for this batch. */
  waitMs: number;
}

// Stream numbers keep the data order and the augmentation words independent.
const ORDER_STREAM = 1;
const AUGMENT_STREAM = 2;

/**
 * Seeded, reproducible batches of a split: the order of epoch e and the augmentation of each
 * example depend only on (seed, e, position), computed with the counter-based Threefry
 * generator, so a resumed run sees exactly the batches an uninterrupted one would.
 *
 * @example
 * ```ts
 * const sampler = new BatchSampler(split, { batchSize: 128, seed: 0, augment: true, mean: pixelMean(split) });
 * const { images, labels } = sampler.makeBatch(0, 0); // epoch 0, batch 0
 * ```
 */
export class BatchSampler {
  readonly batchesPerEpoch: number;
  readonly scale: number;
  private readonly orderCache = new Map<number, Int32Array>();

  constructor(
    readonly split: Split,
    readonly options: SamplerOptions,
    who = 'BatchSampler',
  ) {
    const { batchSize } = options;
    if (!(Number.isInteger(batchSize) && batchSize > 0)) throw new Error(`${who}: batchSize must be a positive integer, got ${batchSize}`);
    if (options.mean.length !== IMAGE_BYTES) throw new Error(`${who}: mean must have ${IMAGE_BYTES} values, got ${options.mean.length}`);
    const dropLast = options.dropLast ?? options.shuffle !== false;
    this.batchesPerEpoch = dropLast ? Math.floor(split.size / batchSize) : Math.ceil(split.size / batchSize);
    if (this.batchesPerEpoch === 0) throw new Error(`${who}: ${split.size} examples make no batch of ${batchSize}`);
    this.scale = options.scale ?? 1 / 64;
  }

  /** The example order of an epoch: a permutation from sorting random words (identity without shuffle). */
  order(epoch: number): Int32Array {
    let o = this.orderCache.get(epoch);
    if (o) return o;
    const n = this.split.size;
    o = Int32Array.from({ length: n }, (_, i) => i);
    if (this.options.shuffle !== false) {
      const keys = new Uint32Array(n);
      for (let i = 0; i < n; i++) keys[i] = threefry2x32(this.options.seed, ORDER_STREAM, epoch, i)[0];
      o.sort((a, b) => keys[a]! - keys[b]! || a - b);
    }
    this.orderCache.clear();
    this.orderCache.set(epoch, o);
    return o;
  }

  /** Which examples make batch `index` of `epoch`, their labels and augmentation words. */
  task(epoch: number, index: number): { indices: Int32Array; words: Uint32Array | null; labels: Int32Array } {
    if (!(Number.isInteger(index) && index >= 0 && index < this.batchesPerEpoch))
      throw new Error(`BatchSampler: batch index ${index} is outside [0, ${this.batchesPerEpoch})`);
    const order = this.order(epoch);
    const B = this.options.batchSize;
    const indices = order.slice(index * B, Math.min((index + 1) * B, this.split.size));
    const labels = Int32Array.from(indices, (i) => this.split.labels[i]!);
    let words: Uint32Array | null = null;
    if (this.options.augment) {
      words = new Uint32Array(indices.length);
      for (let j = 0; j < indices.length; j++) words[j] = threefry2x32(this.options.seed, AUGMENT_STREAM, epoch, index * B + j)[0];
    }
    return { indices, words, labels };
  }

  /** Assembles batch `index` of `epoch` on the calling thread. */
  makeBatch(epoch: number, index: number): Batch {
    const { indices, words, labels } = this.task(epoch, index);
    const images = new Float32Array(indices.length * IMAGE_BYTES);
    fillBatch(this.split.images, indices, words, this.options.mean, this.scale, images);
    return { images, labels, size: indices.length, epoch, index, waitMs: 0 };
  }

}
