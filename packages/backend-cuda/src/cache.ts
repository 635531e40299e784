// The on-disk cache of compiled modules (CUBIN or PTX), keyed by a hash of everything that
// determines the bytes: source, compile options, target architecture and NVRTC's version.
// Same discipline as backend-cpu's cache (which this mirrors; a shared helper could serve
// both): files are written under a unique temporary name and renamed into place, and a
// sidecar checksum guards against truncated files, which are treated as missing.
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** RESGRAD_CACHE_DIR, else $XDG_CACHE_HOME/resgrad, else ~/.cache/resgrad; modules go in `cuda/`. */
export function cudaCacheDir(): string {
  const explicit = process.env.RESGRAD_CACHE_DIR;
  const xdg = process.env.XDG_CACHE_HOME;
  const base = explicit || join(xdg && xdg.length > 0 ? xdg : join(homedir(), '.cache'), 'resgrad');
  return join(base, 'cuda');
}

const sha256 = (data: string | Uint8Array): string => createHash('sha256').update(data).digest('hex');

/** Hash of several strings, each length-prefixed so ("ab","c") and ("a","bc") differ. */
export function moduleKey(parts: readonly string[]): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(`${Buffer.byteLength(p)}:`).update(p);
  return h.digest('hex').slice(0, 40);
}

function writeAtomic(path: string, data: string | Uint8Array): void {
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
  writeFileSync(tmp, data);
  renameSync(tmp, path);
}

/** A cached module image, or null when absent or corrupt. */
export function readModule(dir: string, key: string, ext: 'cubin' | 'ptx'): Uint8Array | null {
  try {
    const bytes = readFileSync(join(dir, `${key}.${ext}`));
    const want = readFileSync(join(dir, `${key}.${ext}.sha256`), 'utf8').trim();
    return sha256(bytes) === want ? new Uint8Array(bytes) : null;
  } catch {
    return null;
  }
}

/** Stores a module image (and its source, for debugging) under `key`. */
export function writeModule(dir: string, key: string, ext: 'cubin' | 'ptx', image: Uint8Array, source: string): void {
  mkdirSync(dir, { recursive: true });
  writeAtomic(join(dir, `${key}.cu`), source);
  writeAtomic(join(dir, `${key}.${ext}`), image);
  writeAtomic(join(dir, `${key}.${ext}.sha256`), `${sha256(image)}\n`);
}
