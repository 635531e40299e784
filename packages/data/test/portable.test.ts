// The browser-safe pieces: records and tar bytes to splits without the file system, and the
// sampler that makes the same batches as the worker-thread loader.
import { describe, expect, it } from 'vitest';
import { BatchLoader, BatchSampler, DataError, IMAGE_BYTES, parseRecords, readCifar10Tar, RECORD_BYTES, type Split } from '@resgrad/data';
import { allFiles, batchFile, RECORDS, tarOf } from './cifar-files.js';

/** The bytes in chunks of `size`, as a stream would hand them over. */
async function* chunked(bytes: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}

describe('parseRecords', () => {
  it('splits any whole number of records into images and labels', () => {
    const file = batchFile(3, 7);
    const s = parseRecords('cut.bin', file);
    expect(s.size).toBe(7);
    for (let r = 0; r < 7; r++) {
      expect(s.labels[r]).toBe(file[r * RECORD_BYTES]);
      expect(Array.from(s.images.subarray(r * IMAGE_BYTES, r * IMAGE_BYTES + 5))).toEqual(Array.from(file.subarray(r * RECORD_BYTES + 1, r * RECORD_BYTES + 6)));
    }
  });

  it('names the file and the fault for a partial record or a bad label', () => {
    expect(() => parseRecords('cut.bin', batchFile(0, 2).subarray(0, RECORD_BYTES + 10))).toThrow(DataError);
    expect(() => parseRecords('cut.bin', batchFile(0, 2).subarray(0, RECORD_BYTES + 10))).toThrow(/cut\.bin: 3083 bytes is not a whole number of 3073-byte records/);
    expect(() => parseRecords('empty.bin', new Uint8Array(0))).toThrow(/empty\.bin/);
    const bad = batchFile(0, 3);
    bad[2 * RECORD_BYTES] = 12;
    expect(() => parseRecords('bad.bin', bad)).toThrow(/bad\.bin: record 2 has label 12, expected 0-9/);
  });
});

describe('readCifar10Tar', () => {
  it('reads the tar bytes in chunks of any size, as from a browser DecompressionStream', async () => {
    const tar = tarOf(allFiles());
    for (const size of [1000, 4096, 65536]) {
      const c = await readCifar10Tar(chunked(tar, size), 'picked.tar', RECORDS);
      expect([c.train.size, c.test.size]).toEqual([5 * RECORDS, RECORDS]);
      expect(c.classes[9]).toBe('truck');
      expect(c.train.labels[RECORDS]).toBe(batchFile(1)[0]);
    }
  });

  it('names the source when a batch file is missing', async () => {
    const files = allFiles();
    files.delete('data_batch_3.bin');
    await expect(readCifar10Tar(chunked(tarOf(files), 8192), 'picked.tar', RECORDS)).rejects.toThrow(/picked\.tar: missing data_batch_3\.bin/);
  });
});

describe('BatchSampler', () => {
  const n = 50;
  const images = new Uint8Array(new SharedArrayBuffer(n * IMAGE_BYTES));
  images.forEach((_, i) => (images[i] = (i * 13) % 256));
  const split: Split = { images, labels: Uint8Array.from({ length: n }, (_, i) => i % 10), size: n };
  const options = { batchSize: 8, seed: 5, augment: true, mean: new Float32Array(IMAGE_BYTES).fill(100) };

  it('makes exactly the batches the worker-thread loader makes (same seed, same batches)', async () => {
    const sampler = new BatchSampler(split, options);
    const loader = new BatchLoader(split, { ...options, workers: 2 });
    try {
      for (const epoch of [0, 3]) {
        let index = 0;
        for await (const b of loader.epoch(epoch)) {
          const mine = sampler.makeBatch(epoch, index++);
          expect(Array.from(mine.labels)).toEqual(Array.from(b.labels));
          expect(mine.images).toEqual(b.images);
        }
        expect(index).toBe(sampler.batchesPerEpoch);
      }
    } finally {
      await loader.close();
    }
  });

  it('rejects a bad batch size or mean with its own name', () => {
    expect(() => new BatchSampler(split, { ...options, batchSize: 0 })).toThrow(/BatchSampler: batchSize must be a positive integer, got 0/);
    expect(() => new BatchSampler(split, { ...options, mean: new Float32Array(3) })).toThrow(/BatchSampler: mean must have 3072 values, got 3/);
  });
});
