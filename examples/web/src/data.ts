// CIFAR-10 in the page: the bundled sample, or files the user picks (the official
// cifar-10-binary.tar.gz, decompressed by the browser, or batch .bin files).
import { DataError, parseRecords, readCifar10Tar, type Split, subset, validationSplit } from '@resgrad/data';

export interface PageData {
  train: Split;
  test: Split;
  /** Where the images came from, for the status line. */
  source: string;
}

/** At most this many test images are evaluated in the page (evaluation runs between steps). */
const MAX_TEST = 1000;

const firstN = (split: Split, n: number): Split => (split.size <= n ? split : subset(split, n));

function concat(name: string, parts: Uint8Array[]): Split {
  const bytes = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    bytes.set(p, at);
    at += p.length;
  }
  return parseRecords(name, bytes);
}

async function fetchBytes(url: string): Promise<Uint8Array> {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status} (the sample is made by npm run web:build from the shared CIFAR-10 copy)`);
  return new Uint8Array(await r.arrayBuffer());
}

/** The small sample the build bundles: the first records of data_batch_1.bin and test_batch.bin. */
export async function loadSample(base = './sample/'): Promise<PageData> {
  const [train, test] = await Promise.all([fetchBytes(`${base}train.bin`), fetchBytes(`${base}test.bin`)]);
  return { train: parseRecords('sample/train.bin', train), test: parseRecords('sample/test.bin', test), source: 'the bundled sample' };
}

// ReadableStream is async-iterable in current Chrome and Firefox but not everywhere; a reader serves all.
async function* chunks(stream: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array> {
  const reader = stream.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return;
    yield value;
  }
}

/**
 * Reads what the user picked: `cifar-10-binary.tar.gz` (all of CIFAR-10), or batch files
 * (`data_batch_N.bin` for training, `test_batch.bin` for testing; whole records, any count).
 * Without a test file, the last 10 % of the training records are held out for testing.
 */
export async function loadFiles(files: readonly File[]): Promise<PageData> {
  if (files.length === 0) throw new DataError('no file picked');
  const names = files.map((f) => f.name).join(', ');
  const archive = files.find((f) => /\.(tar\.gz|tgz)$/i.test(f.name));
  if (archive) {
    const tar = archive.stream().pipeThrough(new DecompressionStream('gzip') as unknown as ReadableWritablePair<Uint8Array, Uint8Array>);
    const c = await readCifar10Tar(chunks(tar), archive.name);
    return { train: c.train, test: firstN(c.test, MAX_TEST), source: archive.name };
  }
  const bad = files.filter((f) => !f.name.endsWith('.bin'));
  if (bad.length) throw new DataError(`${bad.map((f) => f.name).join(', ')}: expected cifar-10-binary.tar.gz or .bin batch files`);
  const read = async (f: File) => new Uint8Array(await f.arrayBuffer());
  const testFiles = files.filter((f) => f.name.startsWith('test'));
  const trainFiles = files.filter((f) => !f.name.startsWith('test'));
  if (trainFiles.length === 0) throw new DataError(`${names}: no training batch file (data_batch_N.bin) among them`);
  const train = concat(trainFiles.map((f) => f.name).join('+'), await Promise.all(trainFiles.map(read)));
  if (testFiles.length) {
    const test = concat(testFiles.map((f) => f.name).join('+'), await Promise.all(testFiles.map(read)));
    return { train, test: firstN(test, MAX_TEST), source: names };
  }
  if (train.size < 2) throw new DataError(`${names}: ${train.size} record, too few to hold some out for testing`);
  const hold = Math.max(1, Math.floor(train.size / 10));
  const { train: kept, val } = validationSplit(train, hold);
  return { train: kept, test: firstN(val, MAX_TEST), source: `${names} (the last ${hold} records held out for testing)` };
}
