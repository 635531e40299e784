import { createReadStream, existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createGunzip } from 'node:zlib';
import { ARCHIVE, type Cifar10, DataError, FOLDER, META_FILE, RECORDS_PER_FILE, TRAIN_FILES } from './format.js';
import { assemble, NEEDED, readCifar10Tar } from './parse.js';

export { checkBatchFile } from './parse.js';

export interface ReadOptions {
  /** Records per batch file: 10000 in the official files (smaller only for test fixtures). */
  recordsPerFile?: number;
}

async function readArchive(path: string, records: number): Promise<Cifar10> {
  const source = createReadStream(path).pipe(createGunzip());
  try {
    return await readCifar10Tar(source, path, records);
  } catch (e) {
    if (e instanceof DataError) throw e;
    throw new DataError(`${path}: ${(e as Error).message}${(e as { code?: string }).code?.startsWith('Z_') ? ' (the gzip stream is corrupt or truncated)' : ''}`);
  }
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
