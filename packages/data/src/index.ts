// @resgrad/data: CIFAR-10 in the official binary layout, the paper's augmentation, seeded batches.
export * from './portable.js';
export { readCifar10, type ReadOptions } from './cifar10/read.js';
export { downloadCifar10, type DownloadOptions, sha256File } from './cifar10/download.js';
export { BatchLoader, type BatchOptions } from './batches.js';
