// @resgrad/data: CIFAR-10 in the official binary layout, the paper's augmentation, seeded batches.
export {
  ARCHIVE, CLASSES, type Cifar10, DataError, FILE_BYTES, FOLDER, IMAGE_BYTES, OFFICIAL_BYTES, OFFICIAL_SHA256, OFFICIAL_URL,
  RECORD_BYTES, RECORDS_PER_FILE, type Split, TEST_FILE, TRAIN_FILES,
} from './cifar10/format.js';
export { checkBatchFile, readCifar10, type ReadOptions } from './cifar10/read.js';
export { downloadCifar10, type DownloadOptions, sha256File } from './cifar10/download.js';
export { readTarEntries } from './cifar10/tar.js';
export { channelStats, pixelMean, subset, validationSplit } from './stats.js';
export { fillBatch } from './augment.js';
export { type Batch, BatchLoader, type BatchOptions } from './batches.js';
