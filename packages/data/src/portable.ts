// What of @resgrad/data runs anywhere (browsers included): the format, records and tar archives
// to splits, statistics and the paper's augmentation. The package index adds what needs Node:
// the file reader, the downloader and the worker-thread batch loader.
export {
  ARCHIVE, CLASSES, type Cifar10, DataError, FILE_BYTES, FOLDER, IMAGE_BYTES, OFFICIAL_BYTES, OFFICIAL_SHA256, OFFICIAL_URL,
  RECORD_BYTES, RECORDS_PER_FILE, type Split, TEST_FILE, TRAIN_FILES,
} from './cifar10/format.js';
export { checkBatchFile, parseRecords, readCifar10Tar } from './cifar10/parse.js';
export { readTarEntries } from './cifar10/tar.js';
export { channelStats, pixelMean, subset, validationSplit } from './stats.js';
export { fillBatch } from './augment.js';
export { type Batch, BatchSampler, type SamplerOptions } from './sampler.js';
