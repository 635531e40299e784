// The on-disk cache of compiled shared objects.
//
// Layout, in one flat folder: <key>.c (the source, kept so errors and debuggers can point at
// it), <key>.so, and <key>.so.sha256 (a checksum of the .so written after it). The key is
// sha256 of (source, flags, compiler --version, CPU signature), so any change to one of
// them is a different file and nothing is ever invalidated in place.
//
// Concurrency: every file is written under a unique temporary name and renamed into place;
// rename(2) is atomic within a folder, so a reader sees either no file or a whole one, and
// two processes building one kernel at once both succeed (the last rename wins, and both
// results are valid builds of the same source).
//
// Corruption: a .so whose bytes do not hash to its sidecar (truncated by a full disk, a
// killed copy, garbage) is treated as missing and rebuilt; it is never dlopen'ed, because
// loading a damaged ELF file can crash the process rather than fail cleanly.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, homedir } from 'node:os';
import { join } from 'node:path';

/** RESGRAD_CACHE_DIR, else $XDG_CACHE_HOME/resgrad, else ~/.cache/resgrad. */
export function cacheDir(): string {
  const explicit = process.env.RESGRAD_CACHE_DIR;
  if (explicit) return explicit;
  const xdg = process.env.XDG_CACHE_HOME;
  return join(xdg && xdg.length > 0 ? xdg : join(homedir(), '.cache'), 'resgrad');
}

export const sha256 = (data: string | Uint8Array): string => createHash('sha256').update(data).digest('hex');

/** Hash of several strings, each length-prefixed so ("ab","c") and ("a","bc") differ. */
export function cacheKey(parts: readonly string[]): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(`${Buffer.byteLength(p)}:`).update(p);
  return h.digest('hex').slice(0, 40);
}

let cpuSig: string | undefined;
/**
 * The CPU model and feature flags: objects built with -march=native are only valid on the
 * CPU they were built for, and a cache folder may be shared between machines (NFS homes).
 */
export function cpuSignature(): string {
  if (cpuSig !== undefined) return cpuSig;
  let flags = '';
  try {
    const info = readFileSync('/proc/cpuinfo', 'utf8');
    flags = /^(?:flags|Features)\s*:\s*(.*)$/m.exec(info)?.[1] ?? '';
  } catch {
    // Not Linux: the model name below has to do.
  }
  cpuSig = `${process.arch} ${cpus()[0]?.model ?? 'unknown'} ${flags}`;
  return cpuSig;
}

export interface CachePaths {
  readonly source: string;
  readonly object: string;
  readonly checksum: string;
}

export function cachePaths(dir: string, key: string): CachePaths {
  return { source: join(dir, `${key}.c`), object: join(dir, `${key}.so`), checksum: join(dir, `${key}.so.sha256`) };
}

/** A unique sibling name for write-then-rename. */
export const tempName = (path: string): string => `${path}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;

/** Writes `data` to `path` atomically (temporary file, then rename). */
export function writeAtomic(path: string, data: string | Uint8Array): void {
  const tmp = tempName(path);
  writeFileSync(tmp, data);
  renameSync(tmp, path);
}

export function ensureDir(dir: string): void {
  mkdirSync(dir, { recursive: true });
}

/** 'ok' when the object exists and matches its checksum; otherwise why it cannot be used. */
export function verifyObject(p: CachePaths): 'ok' | 'missing' | 'corrupt' {
  if (!existsSync(p.object)) return 'missing';
  let want: string;
  let bytes: Buffer;
  try {
    want = readFileSync(p.checksum, 'utf8').trim();
    bytes = readFileSync(p.object);
  } catch {
    return 'corrupt';
  }
  return sha256(bytes) === want ? 'ok' : 'corrupt';
}

/**
 * Moves a freshly built object (at a temporary path) into place with its checksum: the .so
 * first, then the sidecar, so a reader between the two renames sees a mismatch and rebuilds
 * rather than trusting an unchecked file.
 */
export function installObject(tmpObject: string, p: CachePaths): void {
  const sum = sha256(readFileSync(tmpObject));
  renameSync(tmpObject, p.object);
  writeAtomic(p.checksum, `${sum}\n`);
}

export function removeQuietly(path: string): void {
  rmSync(path, { force: true });
}
