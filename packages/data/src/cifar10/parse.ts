// CIFAR-10 records to splits, without file access: shared by the Node reader and the browser.
import {
  type Cifar10, CLASSES, DataError, IMAGE_BYTES, META_FILE, RECORD_BYTES, RECORDS_PER_FILE, type Split, TEST_FILE, TRAIN_FILES,
} from './format.js';
import { readTarEntries } from './tar.js';

// Worker threads (Node) read the images through a SharedArrayBuffer; a browser page that is not
// cross-origin isolated has none, and a plain buffer serves it.
function sharedBytes(n: number): ArrayBufferLike {
  return typeof SharedArrayBuffer === 'function' ? new SharedArrayBuffer(n) : new ArrayBuffer(n);
}

/** The batch files a complete copy has. */
export const NEEDED = [...TRAIN_FILES, TEST_FILE];

const baseName = (path: string) => path.slice(path.lastIndexOf('/') + 1);

/**
 * Reads CIFAR-10 from the decompressed bytes of `cifar-10-binary.tar.gz` (a tar stream), as
 * chunks: in Node the gunzip stream, in a browser `file.stream().pipeThrough(new
 * DecompressionStream('gzip'))`. `where` names the source in errors.
 */
export async function readCifar10Tar(tar: AsyncIterable<Uint8Array>, where: string, recordsPerFile = RECORDS_PER_FILE): Promise<Cifar10> {
  const files = new Map<string, Uint8Array>();
  let meta: string | undefined;
  await readTarEntries(
    tar,
    (name) => NEEDED.includes(baseName(name)) || baseName(name) === META_FILE,
    (name, data) => {
      if (baseName(name) === META_FILE) meta = new TextDecoder().decode(data);
      else files.set(baseName(name), data);
    },
  );
  return assemble(files, where, meta, recordsPerFile);
}

/** Checks one batch file's size and labels; names the file and the fault. */
export function checkBatchFile(name: string, bytes: Uint8Array, recordsPerFile = RECORDS_PER_FILE): void {
  const expected = recordsPerFile * RECORD_BYTES;
  if (bytes.length !== expected) {
    const records = Math.floor(bytes.length / RECORD_BYTES);
    throw new DataError(
      `${name}: ${bytes.length} bytes, expected ${expected} (${recordsPerFile} records of ${RECORD_BYTES} bytes)` +
        (bytes.length < expected ? `; truncated after ${records} whole records` : '; the file is too long'),
    );
  }
  for (let r = 0; r < recordsPerFile; r++) {
    const label = bytes[r * RECORD_BYTES]!;
    if (label > 9) throw new DataError(`${name}: record ${r} has label ${label}, expected 0-9 (corrupt file)`);
  }
}

/** Splits records (label byte + 3072 pixel bytes) into contiguous images and labels. */
export function toSplit(files: readonly Uint8Array[], recordsPerFile: number): Split {
  const n = files.length * recordsPerFile;
  const images = new Uint8Array(sharedBytes(n * IMAGE_BYTES));
  const labels = new Uint8Array(n);
  let i = 0;
  for (const f of files)
    for (let r = 0; r < recordsPerFile; r++, i++) {
      labels[i] = f[r * RECORD_BYTES]!;
      images.set(f.subarray(r * RECORD_BYTES + 1, (r + 1) * RECORD_BYTES), i * IMAGE_BYTES);
    }
  return { images, labels, size: n };
}

function parseClasses(text: string | undefined): string[] {
  if (text === undefined) return [...CLASSES];
  const names = text.split(/\r?\n/).map((s) => s.trim()).filter(Boolean);
  if (names.length !== 10) throw new DataError(`${META_FILE}: expected 10 class names, found ${names.length}`);
  return names;
}

export function assemble(files: Map<string, Uint8Array>, where: string, meta: string | undefined, records: number): Cifar10 {
  const missing = NEEDED.filter((n) => !files.has(n));
  if (missing.length) throw new DataError(`${where}: missing ${missing.join(', ')}`);
  for (const n of NEEDED) checkBatchFile(n, files.get(n)!, records);
  return {
    train: toSplit(TRAIN_FILES.map((n) => files.get(n)!), records),
    test: toSplit([files.get(TEST_FILE)!], records),
    classes: parseClasses(meta),
  };
}

/**
 * Reads any number of whole records (label byte + 3072 pixel bytes) of one file, for example
 * a sample cut from a batch file; names the file and the fault when its length is not a
 * whole number of records or a label is out of range.
 *
 * @example
 * ```ts
 * const split = parseRecords('data_batch_1.bin', bytes); // bytes.length = k * 3073
 * split.size; // k
 * ```
 */
export function parseRecords(name: string, bytes: Uint8Array): Split {
  if (bytes.length === 0 || bytes.length % RECORD_BYTES !== 0)
    throw new DataError(`${name}: ${bytes.length} bytes is not a whole number of ${RECORD_BYTES}-byte records`);
  const records = bytes.length / RECORD_BYTES;
  for (let r = 0; r < records; r++) {
    const label = bytes[r * RECORD_BYTES]!;
    if (label > 9) throw new DataError(`${name}: record ${r} has label ${label}, expected 0-9 (corrupt file)`);
  }
  return toSplit([bytes], records);
}
