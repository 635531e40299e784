// The compiler driver: C source -> cached shared object -> koffi function handles.
import { spawnSync } from 'node:child_process';
import koffi, { type LibraryHandle } from 'koffi';
import {
  cacheDir, cacheKey, cachePaths, cpuSignature, ensureDir, installObject, removeQuietly, tempName, verifyObject, writeAtomic,
} from './cache.js';
import { defaultFlags, requireCompiler, type Compiler } from './toolchain.js';

export interface CompileOptions {
  /** Compiler flags; default: defaultFlags() (-O3 -march=native, or portable). */
  readonly flags?: readonly string[];
  /** Cache folder; default: cacheDir() (RESGRAD_CACHE_DIR, XDG cache, ~/.cache/resgrad). */
  readonly cacheDir?: string;
  /** A short name for messages, e.g. the kernel's name. */
  readonly name?: string;
  /** Extra arguments after the source file (libraries): part of the key like the flags. */
  readonly libs?: readonly string[];
}

export interface CompiledObject {
  /** Path of the verified shared object in the cache. */
  readonly path: string;
  /** Path of the source it was built from. */
  readonly sourcePath: string;
  readonly key: string;
  /** How it was obtained: found valid in the cache, built because absent, or rebuilt. */
  readonly origin: 'cached' | 'built' | 'rebuilt-corrupt';
}

/** A compile that failed: the compiler's own message and where the source lies. */
export class CompileError extends Error {
  constructor(
    readonly compilerMessage: string,
    readonly sourcePath: string,
    readonly command: string,
  ) {
    super(
      `@resgrad/backend-cpu: the C compiler failed on the generated source ${sourcePath}\n` +
        `  command: ${command}\n${indent(compilerMessage.length > 8000 ? `${compilerMessage.slice(0, 8000)}\n...` : compilerMessage)}`,
    );
    this.name = 'CompileError';
  }
}

const indent = (s: string): string => s.trimEnd().split('\n').map((l) => `  | ${l}`).join('\n');

/** Compiles `source` to a shared object, or returns the valid cached one. Synchronous. */
export function compileSource(source: string, opts: CompileOptions = {}): CompiledObject {
  const cc = requireCompiler();
  const flags = opts.flags ?? defaultFlags();
  const libs = opts.libs ?? ['-lm'];
  const dir = opts.cacheDir ?? cacheDir();
  const key = cacheKey([source, flags.join(' '), libs.join(' '), cc.argv.join(' '), cc.versionText, cpuSignature()]);
  const paths = cachePaths(dir, key);
  const state = verifyObject(paths);
  if (state === 'ok') return { path: paths.object, sourcePath: paths.source, key, origin: 'cached' };

  ensureDir(dir);
  writeAtomic(paths.source, source);
  const tmp = tempName(paths.object);
  try {
    runCompiler(cc, flags, libs, paths.source, tmp);
    installObject(tmp, paths);
  } finally {
    removeQuietly(tmp);
  }
  return { path: paths.object, sourcePath: paths.source, key, origin: state === 'corrupt' ? 'rebuilt-corrupt' : 'built' };
}

function runCompiler(cc: Compiler, flags: readonly string[], libs: readonly string[], src: string, out: string): void {
  const args = [...cc.argv.slice(1), ...flags, '-o', out, src, ...libs];
  const command = [cc.argv[0]!, ...args].join(' ');
  const r = spawnSync(cc.argv[0]!, args, { encoding: 'utf8', timeout: 300_000 });
  if (r.error) throw new CompileError(String(r.error.message), src, command);
  if (r.status !== 0) {
    const why = r.signal ? `killed by ${r.signal}` : `exit status ${r.status}`;
    throw new CompileError(`${r.stderr || r.stdout || ''}\n(${why})`, src, command);
  }
}

/** Function prototypes in C syntax, one per exported function, e.g. 'void f(float *x, int64_t n)'. */
export type Prototypes<F> = { readonly [K in keyof F]: string };

export interface LoadedLibrary<F> {
  readonly path: string;
  readonly fns: F;
}

// Loaded libraries are kept for the life of the process: koffi unloads a library once nothing
// references it, and our worker threads may still run code from it (the pool), so unloading
// would pull code out from under them. Keyed by path: one dlopen per object per process.
const loaded = new Map<string, LibraryHandle>();

/** Loads a shared object (once per process) and binds the named functions. */
export function loadLibrary<F extends object>(
  path: string,
  protos: Prototypes<F>,
): LoadedLibrary<F> {
  let lib = loaded.get(path);
  if (!lib) {
    lib = koffi.load(path);
    loaded.set(path, lib);
  }
  const fns: Record<string, unknown> = {};
  for (const name of Object.keys(protos) as (keyof F & string)[]) fns[name] = lib.func(protos[name]);
  return { path, fns: fns as F };
}

/** compileSource + loadLibrary. A cached object that checks out but fails to load is rebuilt once. */
export function compileAndLoad<F extends object>(
  source: string,
  protos: Prototypes<F>,
  opts: CompileOptions = {},
): LoadedLibrary<F> & { readonly object: CompiledObject } {
  const object = compileSource(source, opts);
  try {
    return { ...loadLibrary<F>(object.path, protos), object };
  } catch (e) {
    if (object.origin !== 'cached' || loaded.has(object.path)) throw e;
    // A valid checksum over an object dlopen rejects (e.g. a cache copied from another
    // system's libc): drop it and build afresh.
    removeQuietly(`${object.path}.sha256`);
    const again = compileSource(source, opts);
    return { ...loadLibrary<F>(again.path, protos), object: again };
  }
}
