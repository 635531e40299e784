import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { channelStats, readCifar10, validationSplit } from '@resgrad/data';

const shared = fileURLToPath(new URL('../../../../shared/data/cifar10-jpeg75', import.meta.url));

describe.skipIf(!existsSync(shared))('the shared CIFAR-10 copy', () => {
  it('reads 50000 + 10000 images with the statistics its README states', async () => {
    const data = await readCifar10(shared);
    expect(data.train.size).toBe(50_000);
    expect(data.test.size).toBe(10_000);
    const { mean, std } = channelStats(data.train);
    // README: channel means 125.27 / 122.93 / 113.86, standard deviations 62.57 / 61.92 / 66.48.
    expect(mean.map((m) => m.toFixed(2))).toEqual(['125.27', '122.93', '113.86']);
    expect(std.map((s) => s.toFixed(2))).toEqual(['62.57', '61.92', '66.48']);
    const counts = new Array(10).fill(0);
    for (const l of data.test.labels) counts[l]++;
    expect(counts).toEqual(new Array(10).fill(1000));
    const { train, val } = validationSplit(data.train, 5000);
    expect([train.size, val.size]).toEqual([45_000, 5000]);
  });
});
