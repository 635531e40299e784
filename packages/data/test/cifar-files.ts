// Builds small CIFAR-10 files and archives in the official layout for the tests.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { RECORD_BYTES, TEST_FILE, TRAIN_FILES } from '@resgrad/data';

/** Records per file in the fixtures: the official layout, fewer records. */
export const RECORDS = 200;

/** A batch file whose record r has label (r + file) mod 10 and pixels (r * 7 + p + file) mod 256. */
export function batchFile(file: number, records = RECORDS): Uint8Array {
  const b = new Uint8Array(records * RECORD_BYTES);
  for (let r = 0; r < records; r++) {
    const o = r * RECORD_BYTES;
    b[o] = (r + file) % 10;
    for (let p = 0; p < RECORD_BYTES - 1; p++) b[o + 1 + p] = (r * 7 + p + file) % 256;
  }
  return b;
}

export function allFiles(records = RECORDS): Map<string, Uint8Array> {
  const m = new Map<string, Uint8Array>();
  TRAIN_FILES.forEach((n, i) => m.set(n, batchFile(i, records)));
  m.set(TEST_FILE, batchFile(5, records));
  m.set('batches.meta.txt', new TextEncoder().encode('airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n\n'));
  return m;
}

function tarHeader(name: string, size: number): Uint8Array {
  const h = new Uint8Array(512);
  const put = (s: string, off: number) => h.set(new TextEncoder().encode(s), off);
  put(name, 0);
  put('0000644\0', 100);
  put('0000000\0', 108);
  put('0000000\0', 116);
  put(size.toString(8).padStart(11, '0') + '\0', 124);
  put('00000000000\0', 136);
  put('        ', 148);
  put('0', 156);
  put('ustar\0', 257);
  put('00', 263);
  let sum = 0;
  for (const v of h) sum += v;
  put(sum.toString(8).padStart(6, '0') + '\0 ', 148);
  return h;
}

/** A tar archive of `files` under `cifar-10-batches-bin/`. */
export function tarOf(files: Map<string, Uint8Array>): Uint8Array {
  const parts: Uint8Array[] = [tarHeader('cifar-10-batches-bin/', 0)];
  parts[0]![156] = '5'.charCodeAt(0);
  // Recompute the checksum for the directory entry.
  const h = parts[0]!;
  h.set(new TextEncoder().encode('        '), 148);
  let sum = 0;
  for (const v of h) sum += v;
  h.set(new TextEncoder().encode(sum.toString(8).padStart(6, '0') + '\0 '), 148);
  for (const [name, data] of files) {
    parts.push(tarHeader(`cifar-10-batches-bin/${name}`, data.length), data, new Uint8Array((512 - (data.length % 512)) % 512));
  }
  parts.push(new Uint8Array(1024));
  const total = parts.reduce((s, p) => s + p.length, 0);
  const out = new Uint8Array(total);
  let pos = 0;
  for (const p of parts) {
    out.set(p, pos);
    pos += p.length;
  }
  return out;
}

export function writeArchive(dir: string, files = allFiles(), name = 'cifar-10-binary.tar.gz'): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, name);
  writeFileSync(path, gzipSync(tarOf(files), { level: 1 }));
  return path;
}

export function writeFolder(dir: string, files = allFiles()): string {
  const d = join(dir, 'cifar-10-batches-bin');
  mkdirSync(d, { recursive: true });
  for (const [n, b] of files) writeFileSync(join(d, n), b);
  return d;
}
