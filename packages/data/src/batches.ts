import { Worker } from 'node:worker_threads';
import { fillBatch } from './augment.js';
import type { Split } from './cifar10/format.js';
import { type Batch, BatchSampler, type SamplerOptions } from './sampler.js';

export type { Batch } from './sampler.js';

export interface BatchOptions extends SamplerOptions {
  /** Worker threads preparing batches (default 2; 0 prepares them on the calling thread). */
  workers?: number;
  /** Batches prepared ahead of the consumer (default 2 per worker). */
  prefetch?: number;
}

/**
 * The batches of a {@link BatchSampler} (same seed, same batches), assembled ahead of the
 * consumer in worker threads reading the images from shared memory.
 */
export class BatchLoader {
  readonly batchesPerEpoch: number;
  private readonly sampler: BatchSampler;
  private readonly workers: Worker[] = [];
  private nextWorker = 0;
  private readonly pending = new Map<number, { resolve: (b: Float32Array) => void; reject: (e: Error) => void }>();
  private nextTask = 0;

  constructor(
    private readonly split: Split,
    private readonly options: BatchOptions,
  ) {
    this.sampler = new BatchSampler(split, options, 'BatchLoader');
    this.batchesPerEpoch = this.sampler.batchesPerEpoch;
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

  /** The example order of an epoch (see {@link BatchSampler.order}). */
  order(epoch: number): Int32Array {
    return this.sampler.order(epoch);
  }

  /** Assembles batch `index` of `epoch` on the calling thread. */
  makeBatch(epoch: number, index: number): Batch {
    return this.sampler.makeBatch(epoch, index);
  }

  private request(epoch: number, index: number): Promise<Batch> {
    if (this.workers.length === 0) return Promise.resolve(this.makeBatch(epoch, index));
    const { indices, words, labels } = this.sampler.task(epoch, index);
    const id = this.nextTask++;
    const w = this.workers[this.nextWorker++ % this.workers.length]!;
    return new Promise<Float32Array>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      w.ref();
      w.postMessage({ id, indices, words, scale: this.sampler.scale });
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
