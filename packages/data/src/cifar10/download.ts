import { createHash } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import cliProgress from 'cli-progress';
import { ARCHIVE, DataError, OFFICIAL_BYTES, OFFICIAL_SHA256, OFFICIAL_URL } from './format.js';

export interface DownloadOptions {
  url?: string;
  /** Expected SHA-256 of the archive (default: the official one). */
  sha256?: string;
  /** Show a progress bar on stderr (default: when stderr is a terminal). */
  progress?: boolean;
  /** Injected for tests. */
  fetch?: typeof fetch;
}

/** SHA-256 of a file, hex. */
export function sha256File(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/**
 * Downloads the official `cifar-10-binary.tar.gz` into `dir` unless a copy with the right
 * SHA-256 is already there: with a progress bar, verified against the official checksum,
 * written to a temporary name and renamed into place only when complete and correct.
 * Returns the archive's path.
 */
export async function downloadCifar10(dir: string, options: DownloadOptions = {}): Promise<string> {
  const url = options.url ?? OFFICIAL_URL;
  const expected = (options.sha256 ?? OFFICIAL_SHA256).toLowerCase();
  mkdirSync(dir, { recursive: true });
  const target = join(dir, ARCHIVE);
  if (existsSync(target)) {
    if (sha256File(target) === expected) return target;
    throw new DataError(`${target} exists but its SHA-256 is not ${expected}; remove it to download again`);
  }
  let res: Response;
  try {
    res = await (options.fetch ?? fetch)(url);
  } catch (e) {
    throw new DataError(
      `cannot download ${url} (${(e as Error).message}${(e as { cause?: Error }).cause ? `: ${(e as { cause?: Error }).cause!.message}` : ''}). ` +
        `This machine may be offline: copy ${ARCHIVE} into ${dir} by hand, or pass the folder that holds it.`,
    );
  }
  if (!res.ok || !res.body) throw new DataError(`cannot download ${url}: HTTP ${res.status} ${res.statusText}`);
  const total = Number(res.headers.get('content-length') ?? OFFICIAL_BYTES);
  const showBar = options.progress ?? Boolean(process.stderr.isTTY);
  const bar = showBar
    ? new cliProgress.SingleBar({ format: 'CIFAR-10 [{bar}] {percentage}% {value}/{total} MB | ETA {eta}s', stream: process.stderr }, cliProgress.Presets.shades_classic)
    : undefined;
  bar?.start(Math.round(total / 1e6), 0);
  const tmp = `${target}.part-${process.pid}`;
  const hash = createHash('sha256');
  const fd = openSync(tmp, 'w');
  let got = 0;
  try {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      hash.update(chunk);
      let off = 0;
      while (off < chunk.length) off += writeSync(fd, chunk, off);
      got += chunk.length;
      bar?.update(Math.round(got / 1e6));
    }
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    bar?.stop();
    throw new DataError(`download of ${url} broke off after ${got} bytes: ${(e as Error).message}`);
  }
  closeSync(fd);
  bar?.stop();
  const digest = hash.digest('hex');
  if (digest !== expected) {
    rmSync(tmp, { force: true });
    throw new DataError(`downloaded ${got} bytes from ${url} with SHA-256 ${digest}, expected ${expected}; nothing was kept`);
  }
  renameSync(tmp, target);
  return target;
}
