import { test as fcTest, fc } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { BatchLoader, fillBatch, IMAGE_BYTES, type Split } from '@resgrad/data';

function fakeSplit(n: number, shared = true): Split {
  const images = new Uint8Array(shared ? new SharedArrayBuffer(n * IMAGE_BYTES) : new ArrayBuffer(n * IMAGE_BYTES));
  for (let i = 0; i < images.length; i++) images[i] = (i * 31 + (i >> 10)) % 251;
  const labels = Uint8Array.from({ length: n }, (_, i) => i % 10);
  return { images, labels, size: n };
}
const zeroMean = new Float32Array(IMAGE_BYTES);

/** The padded image value at (c, y, x) of the 40x40 zero-padded image `i`. */
const padded = (s: Split, i: number, c: number, y: number, x: number) =>
  y < 4 || y >= 36 || x < 4 || x >= 36 ? 0 : s.images[i * IMAGE_BYTES + c * 1024 + (y - 4) * 32 + (x - 4)]!;

describe('augmentation', () => {
  fcTest.prop([fc.integer({ min: 0, max: 2 ** 32 - 1 }), fc.integer({ min: 0, max: 7 })])(
    'each output is a 32x32 window of the padded image, possibly mirrored',
    (w, i) => {
      const s = fakeSplit(8, false);
      const out = new Float32Array(IMAGE_BYTES);
      fillBatch(s.images, Int32Array.of(i), Uint32Array.of(w), zeroMean, 1, out);
      const dy = w % 9;
      const dx = Math.floor(w / 9) % 9;
      const flip = Math.floor(w / 81) % 2 === 1;
      expect(dy).toBeLessThanOrEqual(8);
      for (let c = 0; c < 3; c++)
        for (let y = 0; y < 32; y++)
          for (let x = 0; x < 32; x++) {
            const sx = flip ? 31 - x : x;
            expect(out[c * 1024 + y * 32 + x]).toBe(padded(s, i, c, y + dy, sx + dx));
          }
    },
  );

  it('flipping twice is the identity; no augmentation is the plain mean-subtracted image', () => {
    const s = fakeSplit(2, false);
    const mean = Float32Array.from({ length: IMAGE_BYTES }, (_, p) => p % 17);
    const plain = new Float32Array(IMAGE_BYTES);
    fillBatch(s.images, Int32Array.of(1), null, mean, 0.5, plain);
    for (let p = 0; p < IMAGE_BYTES; p++) expect(plain[p]).toBe((s.images[IMAGE_BYTES + p]! - mean[p]!) * 0.5);
    // w = 81 + 9 * 4 + 4: the centred crop, flipped. Mirroring it back gives the image (mean included, mirrored with it).
    const once = new Float32Array(IMAGE_BYTES);
    fillBatch(s.images, Int32Array.of(1), Uint32Array.of(81 + 36 + 4), mean, 0.5, once);
    for (let c = 0; c < 3; c++)
      for (let y = 0; y < 32; y++)
        for (let x = 0; x < 32; x++) {
          const p = c * 1024 + y * 32 + x;
          expect(once[c * 1024 + y * 32 + (31 - x)]).toBe(plain[p]);
        }
  });
});

describe('BatchLoader', () => {
  it('same seed, same batches (workers or not); labels follow their images', async () => {
    const s = fakeSplit(300);
    const opts = { batchSize: 32, seed: 7, augment: true, mean: zeroMean };
    const a = new BatchLoader(s, { ...opts, workers: 2 });
    const b = new BatchLoader(s, { ...opts, workers: 0 });
    const got: string[] = [];
    for await (const x of a.epoch(3)) {
      const y = b.makeBatch(3, x.index);
      expect(Buffer.compare(Buffer.from(x.images.buffer), Buffer.from(y.images.buffer))).toBe(0);
      expect([...x.labels]).toEqual([...y.labels]);
      const order = a.order(3).slice(x.index * 32, x.index * 32 + 32);
      expect([...x.labels]).toEqual([...order].map((i) => s.labels[i]));
      got.push(x.labels.join());
    }
    expect(got.length).toBe(a.batchesPerEpoch);
    expect(a.batchesPerEpoch).toBe(9);
    await a.close();
  });

  it('each epoch is a permutation, different per epoch and seed', () => {
    const s = fakeSplit(100, false);
    const l = new BatchLoader(s, { batchSize: 10, seed: 1, augment: false, mean: zeroMean, workers: 0 });
    const o0 = [...l.order(0)];
    expect([...o0].sort((x, y) => x - y)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(o0).not.toEqual([...l.order(1)]);
    const other = new BatchLoader(s, { batchSize: 10, seed: 2, augment: false, mean: zeroMean, workers: 0 });
    expect(o0).not.toEqual([...other.order(0)]);
  });

  it('resuming inside an epoch yields the same batches', async () => {
    const s = fakeSplit(200);
    const l = new BatchLoader(s, { batchSize: 16, seed: 5, augment: true, mean: zeroMean, workers: 1 });
    const all: Float32Array[] = [];
    for await (const x of l.epoch(2)) all.push(x.images);
    let k = 4;
    for await (const x of l.epoch(2, 4)) expect(Buffer.compare(Buffer.from(x.images.buffer), Buffer.from(all[k++]!.buffer))).toBe(0);
    expect(k).toBe(all.length);
    await l.close();
  });

  it('rejects bad options clearly', () => {
    const s = fakeSplit(10, false);
    expect(() => new BatchLoader(s, { batchSize: 0, seed: 0, augment: false, mean: zeroMean })).toThrow(/batchSize must be a positive integer/);
    expect(() => new BatchLoader(s, { batchSize: 4, seed: 0, augment: false, mean: new Float32Array(3) })).toThrow(/mean must have 3072 values/);
    expect(() => new BatchLoader(s, { batchSize: 4, seed: 0, augment: false, mean: zeroMean, workers: 1 })).toThrow(/SharedArrayBuffer/);
  });
});
