/** The official CIFAR-10 binary layout (https://www.cs.toronto.edu/~kriz/cifar.html). */
export const IMAGE_BYTES = 3 * 32 * 32;
/** One label byte, then the 32x32 red plane, green plane and blue plane, row-major. */
export const RECORD_BYTES = 1 + IMAGE_BYTES;
export const RECORDS_PER_FILE = 10_000;
export const FILE_BYTES = RECORD_BYTES * RECORDS_PER_FILE;
export const FOLDER = 'cifar-10-batches-bin';
export const TRAIN_FILES = [1, 2, 3, 4, 5].map((i) => `data_batch_${i}.bin`);
export const TEST_FILE = 'test_batch.bin';
export const META_FILE = 'batches.meta.txt';
export const ARCHIVE = 'cifar-10-binary.tar.gz';
export const CLASSES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'] as const;

/** The official archive: its address, size and SHA-256 (MD5 c32a1d4ab5d03f1284b67883e8d87530 on the dataset page). */
export const OFFICIAL_URL = 'https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz';
export const OFFICIAL_BYTES = 170_052_171;
export const OFFICIAL_SHA256 = 'c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd';

/** A set of images: `images` holds N x 3072 bytes (CHW per image), `labels` N class indices. */
export interface Split {
  readonly images: Uint8Array;
  readonly labels: Uint8Array;
  readonly size: number;
}

export interface Cifar10 {
  readonly train: Split;
  readonly test: Split;
  readonly classes: readonly string[];
}

/** A CIFAR-10 file that is missing, truncated or corrupt; the message names the file and the fault. */
export class DataError extends Error {
  override name = 'DataError';
}
