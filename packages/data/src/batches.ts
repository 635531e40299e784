import { Worker } from 'node:worker_threads';
import { threefry2x32 } from '@resgrad/core';
import { fillBatch } from './augment.js';
import { IMAGE_BYTES, type Split } from './cifar10/format.js';

export interface BatchOptions {
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
  /** Worker threads preparing batches (default 2; 0 prepares them on the calling thread). */
  workers?: number;
  /** Batches prepared ahead of the consumer (default 2 per worker). */
  prefetch?: number;
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
 * generator, so a resumed run sees exactly the batches an uninterrupted one would. Batches are
 * assembled in worker threads reading the images from shared memory.
 */
export class BatchLoader {
  readonly batchesPerEpoch: number;
  private readonly workers: Worker[] = [];
  private nextWorker = 0;
  private readonly pending = new Map<number, { resolve: (b: Float32Array) => void; reject: (e: Error) => void }>();
  private nextTask = 0;
  private readonly orderCache = new Map<number, Int32Array>();
  private readonly scale: number;

  constructor(
    private readonly split: Split,
    private readonly options: BatchOptions,
  ) {
    const { batchSize } = options;
    if (!(Number.isInteger(batchSize) && batchSize > 0)) throw new Error(`BatchLoader: batchSize must be a positive integer, got ${batchSize}`);
    if (options.mean.length !== IMAGE_BYTES) throw new Error(`BatchLoader: mean must have ${IMAGE_BYTES} values, got ${options.mean.length}`);
    const dropLast = options.dropLast ?? options.shuffle !== false;
    this.batchesPerEpoch = dropLast ? Math.floor(split.size / batchSize) : Math.ceil(split.size / batchSize);
    if (this.batchesPerEpoch === 0) throw new Error(`BatchLoader: ${split.size} examples make no batch of ${batchSize}`);
    this.scale = options.scale ?? 1 / 64;
    const n = options.workers ?? 2;
    if (n > 0 && !(split.images.buffer instanceof SharedArrayBuffer))
      throw new Error('BatchLoader: worker threads need the images in a SharedArrayBuffer (as readCifar10 returns them); pass workers: 0 otherwise');
    for (let i = 0; i < n; i++) this.workers.push(this.spawn());
  }

  private spawn(): Worker {
    const source = `
      const { parentPort, workerData } = require('node:worker_threads');
      const fillBatch = ${fillBatch.toString()};
      const { images, mean } = workerData;
      parentPort.on('message', ({ id, indices, words, scale }) => {
        const out = new Float32Array(indices.length * 3072);
        try {
          fillBatch(images, indices, words, mean, scale, out);
          parentPort.postMessage({ id, out }, [out.buffer]);
        } catch (e) {
          parentPort.postMessage({ id, error: String(e && e.stack || e) });
        }
      });`;
    const w = new Worker(source, { eval: true, workerData: { images: this.split.images, mean: this.options.mean } });
    w.on('message', ({ id, out, error }: { id: number; out?: Float32Array; error?: string }) => {
      const p = this.pending.get(id);
      this.pending.delete(id);
      // An idle worker must not keep the process alive; a busy one must.
      if (this.pending.size === 0) for (const x of this.workers) x.unref();
      if (error) p?.reject(new Error(`BatchLoader worker: ${error}`));
      else p?.resolve(out!);
    });
    w.on('error', (e) => {
      for (const p of this.pending.values()) p.reject(e);
      this.pending.clear();
    });
    w.unref();
    return w;
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

  private task(epoch: number, index: number): { indices: Int32Array; words: Uint32Array | null; labels: Int32Array } {
    if (!(Number.isInteger(index) && index >= 0 && index < this.batchesPerEpoch))
      throw new Error(`BatchLoader: batch index ${index} is outside [0, ${this.batchesPerEpoch})`);
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

  private request(epoch: number, index: number): Promise<Batch> {
    if (this.workers.length === 0) return Promise.resolve(this.makeBatch(epoch, index));
    const { indices, words, labels } = this.task(epoch, index);
    const id = this.nextTask++;
    const w = this.workers[this.nextWorker++ % this.workers.length]!;
    return new Promise<Float32Array>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      w.ref();
      w.postMessage({ id, indices, words, scale: this.scale });
    }).then((images) => ({ images, labels, size: indices.length, epoch, index, waitMs: 0 }));
  }

  /**
   * The batches of an epoch from `start` on, prepared ahead in the workers. `waitMs` tells
   * how long the consumer waited for each one (the data-wait share of a training run).
   */
  async *epoch(epoch: number, start = 0): AsyncGenerator<Batch> {
    const ahead = this.options.prefetch ?? Math.max(2, 2 * this.workers.length);
    const queue: Promise<Batch>[] = [];
    let next = start;
    const fill = () => {
      while (queue.length < ahead && next < this.batchesPerEpoch) queue.push(this.request(epoch, next++));
    };
    fill();
    while (queue.length) {
      const t0 = performance.now();
      const b = await queue.shift()!;
      b.waitMs = performance.now() - t0;
      fill();
      yield b;
    }
  }

  /** Stops the worker threads. */
  async close(): Promise<void> {
    // Workers are unref'd when idle, and a terminating worker does not hold the event loop
    // either: without a handle of our own, a caller awaiting close() at top level sees Node
    // exit with the await unsettled (exit code 13) before the next statement runs.
    const keepAlive = setInterval(() => {}, 1 << 30);
    try {
      await Promise.all(this.workers.map((w) => w.terminate()));
    } finally {
      clearInterval(keepAlive);
    }
    this.workers.length = 0;
  }
}
