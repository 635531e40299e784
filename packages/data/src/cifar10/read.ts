import { createReadStream, existsSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { createGunzip } from 'node:zlib';
import {
  ARCHIVE, type Cifar10, CLASSES, DataError, FOLDER, IMAGE_BYTES, META_FILE, RECORD_BYTES, RECORDS_PER_FILE,
  type Split, TEST_FILE, TRAIN_FILES,
} from './format.js';
import { readTarEntries } from './tar.js';

const NEEDED = [...TRAIN_FILES, TEST_FILE];

export interface ReadOptions {
  /** Records per batch file: 10000 in the official files (smaller only for test fixtures). */
  recordsPerFile?: number;
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
function toSplit(files: readonly Uint8Array[], recordsPerFile: number): Split {
  const n = files.length * recordsPerFile;
  const images = new Uint8Array(new SharedArrayBuffer(n * IMAGE_BYTES));
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

function assemble(files: Map<string, Uint8Array>, where: string, meta: string | undefined, records: number): Cifar10 {
  const missing = NEEDED.filter((n) => !files.has(n));
  if (missing.length) throw new DataError(`${where}: missing ${missing.join(', ')}`);
  for (const n of NEEDED) checkBatchFile(n, files.get(n)!, records);
  return {
    train: toSplit(TRAIN_FILES.map((n) => files.get(n)!), records),
    test: toSplit([files.get(TEST_FILE)!], records),
    classes: parseClasses(meta),
  };
}

async function readArchive(path: string, records: number): Promise<Cifar10> {
  const files = new Map<string, Uint8Array>();
  let meta: string | undefined;
  const gunzip = createGunzip();
  const source = createReadStream(path).pipe(gunzip);
  try {
    await readTarEntries(
      source,
      (name) => NEEDED.includes(basename(name)) || basename(name) === META_FILE,
      (name, data) => {
        if (basename(name) === META_FILE) meta = new TextDecoder().decode(data);
        else files.set(basename(name), data);
      },
    );
  } catch (e) {
    throw new DataError(`${path}: ${(e as Error).message}${(e as { code?: string }).code?.startsWith('Z_') ? ' (the gzip stream is corrupt or truncated)' : ''}`);
  }
  return assemble(files, path, meta, records);
}

function readFolder(dir: string, records: number): Cifar10 {
  const files = new Map<string, Uint8Array>();
  for (const n of NEEDED) {
    const p = join(dir, n);
    if (existsSync(p)) files.set(n, readFileSync(p));
  }
  const metaPath = join(dir, META_FILE);
  return assemble(files, dir, existsSync(metaPath) ? readFileSync(metaPath, 'utf8') : undefined, records);
}

/**
 * Reads CIFAR-10 in the official binary layout from `cifar-10-binary.tar.gz` (decompressed as
 * a stream), from an extracted `cifar-10-batches-bin/` folder, or from a folder holding
 * either. Record counts, file sizes and labels are checked; a missing, truncated or corrupt
 * file raises a DataError naming it.
 *
 * @example
 * ```ts
 * const data = await readCifar10('../shared/data/cifar10-jpeg75');
 * data.train.size; // 50000
 * ```
 */
export async function readCifar10(source: string, options: ReadOptions = {}): Promise<Cifar10> {
  const records = options.recordsPerFile ?? RECORDS_PER_FILE;
  if (!existsSync(source)) throw new DataError(`${source}: no such file or folder`);
  if (statSync(source).isFile()) return readArchive(source, records);
  if (existsSync(join(source, TRAIN_FILES[0]!))) return readFolder(source, records);
  if (existsSync(join(source, FOLDER))) return readFolder(join(source, FOLDER), records);
  if (existsSync(join(source, ARCHIVE))) return readArchive(join(source, ARCHIVE), records);
  throw new DataError(`${source}: found neither ${ARCHIVE}, ${FOLDER}/ nor the batch files`);
}
