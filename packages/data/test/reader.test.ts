import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { DataError, IMAGE_BYTES, readCifar10, RECORD_BYTES, downloadCifar10, sha256File } from '@resgrad/data';
import { allFiles, batchFile, RECORDS, tarOf, writeArchive, writeFolder } from './cifar-files.js';

const small = { recordsPerFile: RECORDS };

const tmp = () => mkdtempSync(join(tmpdir(), 'resgrad-data-'));

describe('readCifar10', () => {
  it('reads the archive (streamed) and the extracted folder identically', async () => {
    const dir = tmp();
    const fromArchive = await readCifar10(writeArchive(dir), small);
    const fromFolder = await readCifar10(writeFolder(dir), small);
    expect(fromArchive.train.size).toBe(5 * RECORDS);
    expect(fromArchive.test.size).toBe(RECORDS);
    expect(fromArchive.classes[9]).toBe('truck');
    expect(Buffer.compare(fromArchive.train.images, fromFolder.train.images)).toBe(0);
    expect(Buffer.compare(fromArchive.test.labels, fromFolder.test.labels)).toBe(0);
    // Record 123 of data_batch_2.bin (file index 1) is training example RECORDS + 123.
    const f = batchFile(1);
    const i = RECORDS + 123;
    expect(fromArchive.train.labels[i]).toBe(f[123 * RECORD_BYTES]);
    expect([...fromArchive.train.images.subarray(i * IMAGE_BYTES, i * IMAGE_BYTES + 5)]).toEqual([
      ...f.subarray(123 * RECORD_BYTES + 1, 123 * RECORD_BYTES + 6),
    ]);
  });

  it('finds the data inside a folder holding the archive', async () => {
    const dir = tmp();
    writeArchive(dir);
    expect((await readCifar10(dir, small)).train.size).toBe(5 * RECORDS);
  });

  it('names a truncated batch file', async () => {
    const files = allFiles();
    files.set('data_batch_3.bin', files.get('data_batch_3.bin')!.subarray(0, 50 * RECORD_BYTES + 10));
    await expect(readCifar10(writeFolder(tmp(), files), small)).rejects.toThrow(
      /data_batch_3\.bin: 153660 bytes, expected 614600 \(200 records of 3073 bytes\); truncated after 50 whole records/,
    );
  });

  it('names a corrupt label', async () => {
    const files = allFiles();
    const f = files.get('test_batch.bin')!.slice();
    f[77 * RECORD_BYTES] = 200;
    files.set('test_batch.bin', f);
    await expect(readCifar10(writeArchive(tmp(), files), small)).rejects.toThrow(/test_batch\.bin: record 77 has label 200, expected 0-9/);
  });

  it('names missing files', async () => {
    const files = allFiles();
    files.delete('data_batch_5.bin');
    await expect(readCifar10(writeFolder(tmp(), files), small)).rejects.toThrow(/missing data_batch_5\.bin/);
  });

  it('reports a truncated archive and a corrupt gzip stream as DataErrors', async () => {
    const dir = tmp();
    const full = gzipSync(tarOf(allFiles()), { level: 1 });
    const cut = join(dir, 'cut.tar.gz');
    writeFileSync(cut, full.subarray(0, Math.floor(full.length / 2)));
    await expect(readCifar10(cut, small)).rejects.toBeInstanceOf(DataError);
    const bad = join(dir, 'bad.tar.gz');
    const flipped = Buffer.from(full);
    for (let i = 1000; i < 1100; i++) flipped[i] = flipped[i]! ^ 0xff;
    writeFileSync(bad, flipped);
    await expect(readCifar10(bad, small)).rejects.toThrow(/bad\.tar\.gz/);
    const notTar = join(dir, 'nottar.tar.gz');
    writeFileSync(notTar, gzipSync(new Uint8Array(4096).fill(7)));
    await expect(readCifar10(notTar, small)).rejects.toThrow(/checksum|not a tar/);
  });

  it('the official files hold 10000 records: a fixture-sized file is reported against that', async () => {
    await expect(readCifar10(writeFolder(tmp()))).rejects.toThrow(/expected 30730000 \(10000 records of 3073 bytes\)/);
  });

  it('says what it looked for in an empty folder', async () => {
    await expect(readCifar10(tmp())).rejects.toThrow(/found neither cifar-10-binary\.tar\.gz/);
    await expect(readCifar10('/nonexistent/cifar')).rejects.toThrow(/no such file or folder/);
  });
});

describe('downloadCifar10', () => {
  it('verifies the checksum, renames into place, and keeps nothing on a mismatch', async () => {
    const payload = gzipSync(tarOf(allFiles()), { level: 1 });
    const fakeFetch = (async () => new Response(payload, { headers: { 'content-length': String(payload.length) } })) as typeof fetch;
    const dir = tmp();
    await expect(downloadCifar10(dir, { fetch: fakeFetch, progress: false })).rejects.toThrow(/SHA-256 .* expected c4a38c50/);
    const digest = (await import('node:crypto')).createHash('sha256').update(payload).digest('hex');
    const path = await downloadCifar10(dir, { fetch: fakeFetch, progress: false, sha256: digest });
    expect(sha256File(path)).toBe(digest);
    expect(Buffer.compare(readFileSync(path), payload)).toBe(0);
    // A second call finds the verified copy and does not fetch.
    const again = await downloadCifar10(dir, { fetch: (() => { throw new Error('fetched again'); }) as never, sha256: digest });
    expect(again).toBe(path);
  });

  it('explains an offline machine', async () => {
    const offline = (async () => { throw new TypeError('fetch failed', { cause: new Error('getaddrinfo ENOTFOUND www.cs.toronto.edu') }); }) as typeof fetch;
    await expect(downloadCifar10(tmp(), { fetch: offline, progress: false })).rejects.toThrow(/may be offline: copy cifar-10-binary\.tar\.gz into/);
  });
});
