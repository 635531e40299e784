// Finding the CUDA libraries on this machine. They live in many places: the driver
// (libcuda.so.1) under /usr/local/nvidia/lib64 in containers or on the loader's path; the
// toolkit's NVRTC and cuBLAS under /usr/local/cuda; on machines with PyTorch but no toolkit,
// inside the Python wheels (site-packages/nvidia/<component>/lib). We search a fixed, ordered
// list of folders and report that list when nothing is found, so "not found" is actionable.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';

/** A library that was searched for: where it was found, or everywhere it was looked for. */
export interface Found {
  /** Absolute path of the library, or null when only the dynamic loader may still know it. */
  readonly path: string | null;
  /** The folders searched, in order (for messages). */
  readonly searched: readonly string[];
}

const isDir = (p: string): boolean => {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
};

const unique = (xs: readonly string[]): string[] => [...new Set(xs.filter((x) => x.length > 0))];

const envList = (name: string): string[] => (process.env[name] ?? '').split(delimiter).filter(Boolean);

/** Folders of the toolkit and driver, in priority order (before the Python wheels). */
export function systemDirs(): string[] {
  const explicit = envList('RESGRAD_CUDA_PATH').flatMap((d) => [d, join(d, 'lib64'), join(d, 'lib'), join(d, 'targets/x86_64-linux/lib')]);
  const cudaHome = [process.env.CUDA_HOME, process.env.CUDA_PATH].filter((x): x is string => !!x).flatMap((d) => [join(d, 'lib64'), join(d, 'lib')]);
  return unique([
    ...explicit,
    ...envList('LD_LIBRARY_PATH'),
    ...cudaHome,
    '/usr/local/cuda/lib64',
    '/usr/local/cuda/targets/x86_64-linux/lib',
    '/usr/local/nvidia/lib64',
    '/usr/local/nvidia/lib',
    '/usr/lib/x86_64-linux-gnu',
    '/usr/lib64',
    '/usr/lib/wsl/lib',
  ]);
}

let pythonSites: { env: string; dirs: string[] } | undefined;

/**
 * site-packages folders of the Pythons we can see: usual prefixes by glob, PYTHONPATH, and
 * (unless RESGRAD_CUDA_NO_PYTHON is set) `python3`'s own sys.path, which finds venvs and conda
 * installs wherever they are. Computed once per process.
 */
export function pythonSitePackages(): string[] {
  // Cached per process, keyed by the environment that decides the answer.
  const env = ['PYTHONPATH', 'VIRTUAL_ENV', 'CONDA_PREFIX', 'RESGRAD_CUDA_NO_PYTHON'].map((k) => process.env[k] ?? '').join('\0');
  if (pythonSites?.env === env) return pythonSites.dirs;
  const prefixes = unique([
    process.env.VIRTUAL_ENV ?? '',
    process.env.CONDA_PREFIX ?? '',
    '/usr',
    '/usr/local',
    '/opt/conda',
    join(homedir(), '.local'),
  ]);
  const sites: string[] = [...envList('PYTHONPATH')];
  for (const p of prefixes) {
    const lib = join(p, 'lib');
    if (!isDir(lib)) continue;
    for (const py of safeReaddir(lib).filter((n) => /^python3(\.\d+)?$/.test(n)))
      for (const s of ['site-packages', 'dist-packages']) sites.push(join(lib, py, s));
  }
  if (!process.env.RESGRAD_CUDA_NO_PYTHON) {
    const r = spawnSync('python3', ['-c', 'import sys; print("\\n".join(sys.path))'], { encoding: 'utf8', timeout: 5000 });
    if (r.status === 0) sites.push(...r.stdout.split('\n').map((l) => l.trim()).filter((l) => /(site|dist)-packages$/.test(l)));
  }
  pythonSites = { env, dirs: unique(sites).filter(isDir) };
  return pythonSites.dirs;
}

/** The `nvidia/<component>/lib` folders of the Python wheels (cuda_nvrtc, cublas, cu13, ...). */
export function wheelDirs(): string[] {
  const out: string[] = [];
  for (const site of pythonSitePackages()) {
    const nv = join(site, 'nvidia');
    if (!isDir(nv)) continue;
    for (const comp of safeReaddir(nv)) {
      const lib = join(nv, comp, 'lib');
      if (isDir(lib)) out.push(lib);
    }
  }
  return out;
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** Version numbers of a `libx.so.A.B.C` file name, for ordering ([] for plain `.so`). */
function soVersion(file: string): number[] {
  const m = /\.so((?:\.\d+)*)$/.exec(file);
  return m && m[1] ? m[1].slice(1).split('.').map(Number) : [];
}

function newer(a: string, b: string): number {
  const [x, y] = [soVersion(a), soVersion(b)];
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (y[i] ?? -1) - (x[i] ?? -1);
    if (d) return d;
  }
  return 0;
}

/**
 * Finds `lib<stem>.so*` in `dirs`: the first folder that has one wins, and within it the
 * highest version (`libnvrtc.so.13` over `libnvrtc.so.12`). `accept` filters file names.
 */
export function findIn(dirs: readonly string[], stem: string, accept: (file: string) => boolean = () => true): string | null {
  const re = new RegExp(`^lib${stem.replace(/[.+]/g, '\\$&')}\\.so(\\.\\d+)*$`);
  for (const d of dirs) {
    const hits = safeReaddir(d).filter((f) => re.test(f) && accept(f)).sort(newer);
    if (hits.length) return join(d, hits[0]!);
  }
  return null;
}

/** The folders searched for toolkit libraries: system folders, then the Python wheels. */
export const toolkitDirs = (): string[] => unique([...systemDirs(), ...wheelDirs()]);

/** libcuda.so.1 (the driver); `path: null` leaves it to the dynamic loader's cache. */
export function findDriver(): Found {
  const searched = unique([...systemDirs(), ...wheelDirs().filter((d) => /compat/.test(d))]);
  const path = searched.map((d) => join(d, 'libcuda.so.1')).find((p) => existsSync(p)) ?? null;
  return { path, searched };
}

/** libnvrtc (any version) and, from the same folder, its builtins library. */
export function findNvrtc(): Found & { builtins: string | null } {
  const searched = toolkitDirs();
  const path = findIn(searched, 'nvrtc', (f) => !f.includes('builtins'));
  const dir = path ? path.slice(0, path.lastIndexOf('/')) : null;
  // The builtins library must match NVRTC's version: take the same folder's.
  const builtins = dir ? findIn([dir], 'nvrtc-builtins') : null;
  return { path, searched, builtins };
}

/** libcublas and libcublasLt (cuBLAS loads Lt by soname: we preload it by path). */
export function findCublas(): Found & { lt: string | null } {
  const searched = toolkitDirs();
  const path = findIn(searched, 'cublas');
  const dir = path ? path.slice(0, path.lastIndexOf('/')) : null;
  const lt = dir ? findIn([dir], 'cublasLt') : null;
  return { path, searched, lt };
}

/** `searched` shortened for a one-line message. */
export function listSearched(dirs: readonly string[], max = 8): string {
  return dirs.length <= max ? dirs.join(', ') : `${dirs.slice(0, max).join(', ')} and ${dirs.length - max} more`;
}
