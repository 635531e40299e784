import { IMAGE_BYTES, type Split } from './cifar10/format.js';

/** Mean of each of the 3072 pixel positions (CHW), in 0-255 units: the paper's per-pixel mean. */
export function pixelMean(split: Split): Float32Array {
  const acc = new Float64Array(IMAGE_BYTES);
  for (let i = 0; i < split.size; i++) {
    const o = i * IMAGE_BYTES;
    for (let p = 0; p < IMAGE_BYTES; p++) acc[p]! += split.images[o + p]!;
  }
  return Float32Array.from(acc, (v) => v / split.size);
}

/** Per-channel mean and standard deviation (0-255 units). */
export function channelStats(split: Split): { mean: [number, number, number]; std: [number, number, number] } {
  const sum = [0, 0, 0];
  const sq = [0, 0, 0];
  for (let i = 0; i < split.size; i++)
    for (let c = 0; c < 3; c++) {
      const o = i * IMAGE_BYTES + c * 1024;
      for (let p = 0; p < 1024; p++) {
        const v = split.images[o + p]!;
        sum[c]! += v;
        sq[c]! += v * v;
      }
    }
  const n = split.size * 1024;
  const mean = sum.map((s) => s / n) as [number, number, number];
  const std = sq.map((s, c) => Math.sqrt(s / n - mean[c]! ** 2)) as [number, number, number];
  return { mean, std };
}

/** The first `n` examples (for quick runs). */
export function subset(split: Split, n: number): Split {
  if (!(Number.isInteger(n) && n > 0 && n <= split.size)) throw new Error(`subset: n must be an integer in [1, ${split.size}], got ${n}`);
  return { images: split.images.subarray(0, n * IMAGE_BYTES), labels: split.labels.subarray(0, n), size: n };
}

/**
 * The paper's validation split: the last `valSize` training examples are held out
 * (45k/5k for valSize 5000).
 */
export function validationSplit(split: Split, valSize: number): { train: Split; val: Split } {
  if (!(Number.isInteger(valSize) && valSize > 0 && valSize < split.size))
    throw new Error(`validationSplit: valSize must be an integer in [1, ${split.size - 1}], got ${valSize}`);
  const n = split.size - valSize;
  return {
    train: { images: split.images.subarray(0, n * IMAGE_BYTES), labels: split.labels.subarray(0, n), size: n },
    val: { images: split.images.subarray(n * IMAGE_BYTES), labels: split.labels.subarray(n), size: valSize },
  };
}
