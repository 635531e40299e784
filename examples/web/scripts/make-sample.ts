// Writes the page's bundled sample, public/sample/{train,test}.bin: the first records of
// data_batch_1.bin and test_batch.bin of a CIFAR-10 copy (default: the shared copy beside the
// repository), in the official record layout. Usage: tsx make-sample.ts [DATA] [TRAIN] [TEST]
import { createReadStream, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createGunzip } from 'node:zlib';
import { ARCHIVE, FOLDER, RECORD_BYTES, readTarEntries } from '@resgrad/data';

const here = dirname(fileURLToPath(import.meta.url));
const source = process.argv[2] ?? join(here, '../../../../shared/data/cifar10-jpeg75');
const counts = { 'data_batch_1.bin': Number(process.argv[3] ?? 2048), 'test_batch.bin': Number(process.argv[4] ?? 512) };
const out = join(here, '../public/sample');

const found = new Map<string, Uint8Array>();
const want = (name: string) => Object.keys(counts).some((n) => name.endsWith(`/${n}`) || name === n);
if (!existsSync(source)) {
  console.error(`make-sample: ${source} does not exist; the page will offer only the file picker (pass a CIFAR-10 copy as the first argument)`);
  process.exit(0);
}
const archive = statSync(source).isFile() ? source : existsSync(join(source, ARCHIVE)) ? join(source, ARCHIVE) : null;
if (archive) {
  await readTarEntries(createReadStream(archive).pipe(createGunzip()), want, (name, data) => found.set(name.slice(name.lastIndexOf('/') + 1), data));
} else {
  const dir = existsSync(join(source, FOLDER)) ? join(source, FOLDER) : source;
  for (const n of Object.keys(counts)) if (existsSync(join(dir, n))) found.set(n, readFileSync(join(dir, n)));
}
mkdirSync(out, { recursive: true });
for (const [file, n] of Object.entries(counts)) {
  const bytes = found.get(file);
  if (!bytes) throw new Error(`make-sample: ${file} not found in ${source}`);
  const target = join(out, file.startsWith('test') ? 'test.bin' : 'train.bin');
  writeFileSync(target, bytes.subarray(0, n * RECORD_BYTES));
  console.log(`make-sample: ${target}: ${n} records of ${file}`);
}
