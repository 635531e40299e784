// koffi bindings of NVRTC (runtime compilation of CUDA C to PTX or CUBIN). NVRTC dlopens its
// builtins library (libnvrtc-builtins.so.X.Y) by soname at the first compile, which fails
// when that library sits outside the loader's path (a Python wheel, an extracted .deb): we
// load it by absolute path first, so the soname is already resident when NVRTC asks.
import koffi from 'koffi';
import { findNvrtc, listSearched } from '../discover.js';
import { CudaError, NVRTC_RESULT } from '../errors.js';

type Fn = (...args: any[]) => any;

const PROTOTYPES = {
  nvrtcVersion: 'int nvrtcVersion(_Out_ int *major, _Out_ int *minor)',
  nvrtcGetErrorString: 'const char *nvrtcGetErrorString(int result)',
  nvrtcCreateProgram:
    'int nvrtcCreateProgram(_Out_ void **prog, const char *src, const char *name, int numHeaders, void *headers, void *includeNames)',
  nvrtcCompileProgram: 'int nvrtcCompileProgram(void *prog, int numOptions, const char **options)',
  nvrtcGetProgramLogSize: 'int nvrtcGetProgramLogSize(void *prog, _Out_ size_t *size)',
  nvrtcGetProgramLog: 'int nvrtcGetProgramLog(void *prog, _Out_ uint8_t *log)',
  nvrtcGetPTXSize: 'int nvrtcGetPTXSize(void *prog, _Out_ size_t *size)',
  nvrtcGetPTX: 'int nvrtcGetPTX(void *prog, _Out_ uint8_t *ptx)',
  nvrtcGetCUBINSize: 'int nvrtcGetCUBINSize(void *prog, _Out_ size_t *size)',
  nvrtcGetCUBIN: 'int nvrtcGetCUBIN(void *prog, _Out_ uint8_t *cubin)',
  nvrtcDestroyProgram: 'int nvrtcDestroyProgram(_Inout_ void **prog)',
  nvrtcGetNumSupportedArchs: 'int nvrtcGetNumSupportedArchs(_Out_ int *n)',
  nvrtcGetSupportedArchs: 'int nvrtcGetSupportedArchs(_Out_ int *archs)',
} as const;

type NvrtcFns = { readonly [K in keyof typeof PROTOTYPES]: Fn };

/** What a compile produced: a CUBIN for one architecture, or PTX the driver JIT-compiles. */
export interface CompiledModule {
  readonly kind: 'cubin' | 'ptx';
  /** `sm_90` for a CUBIN, `compute_80` for PTX. */
  readonly arch: string;
  /** The image for cuModuleLoadData (PTX is NUL-terminated). */
  readonly image: Uint8Array;
  /** NVRTC's log (warnings), possibly empty. */
  readonly log: string;
}

/** Options of {@link Nvrtc.compile}. */
export interface NvrtcCompileOptions {
  /** Program name in messages (like a file name). */
  readonly name?: string;
  /** Extra NVRTC options (after ours). */
  readonly options?: readonly string[];
}

/**
 * Options every kernel is compiled with: no FMA contraction (`a * b + c` rounds twice, as the
 * reference does; library kernels call __fmaf_rn explicitly where they want FMA), IEEE
 * division and square root, no flush of denormals.
 */
export const KERNEL_OPTIONS: readonly string[] = ['--fmad=false', '--prec-div=true', '--prec-sqrt=true', '--ftz=false', '--std=c++17'];

/** The NVRTC library: compiles CUDA C source in this process. */
export class Nvrtc {
  private constructor(
    readonly path: string,
    readonly builtins: string | null,
    private readonly fns: NvrtcFns,
  ) {}

  /** Loads NVRTC (and its builtins first), or says why it cannot. */
  static load(): Nvrtc | { unavailable: string } {
    const found = findNvrtc();
    if (!found.path) return { unavailable: `no NVRTC: libnvrtc.so not found (searched ${listSearched(found.searched)})` };
    try {
      // Keep the builtins resident: NVRTC dlopens it by soname at its first compile.
      if (found.builtins) keep.push(koffi.load(found.builtins));
      const lib = koffi.load(found.path);
      keep.push(lib);
      const fns: Record<string, Fn> = {};
      for (const [name, proto] of Object.entries(PROTOTYPES)) fns[name] = lib.func(proto);
      return new Nvrtc(found.path, found.builtins, fns as NvrtcFns);
    } catch (e) {
      return { unavailable: `NVRTC at ${found.path} failed to load: ${(e as Error).message.split('\n')[0]}` };
    }
  }

  private check(call: string, code: number, detail?: string): void {
    if (code === 0) return;
    const name = NVRTC_RESULT[code] ?? `nvrtcResult ${code}`;
    let message = name;
    try {
      message = (this.fns.nvrtcGetErrorString(code) as string) ?? name;
    } catch {
      // keep the table's name
    }
    throw new CudaError('nvrtc', call, code, name, message, detail);
  }

  /** NVRTC's version as [major, minor]. */
  version(): [number, number] {
    const a: number[] = [0];
    const b: number[] = [0];
    this.check('nvrtcVersion', this.fns.nvrtcVersion(a, b) as number);
    return [a[0]!, b[0]!];
  }

  /** The SM architectures this NVRTC can emit CUBIN for (e.g. [50, 52, ..., 90]). */
  supportedArchs(): number[] {
    const n: number[] = [0];
    this.check('nvrtcGetNumSupportedArchs', this.fns.nvrtcGetNumSupportedArchs(n) as number);
    const archs = new Int32Array(n[0]!);
    this.check('nvrtcGetSupportedArchs', this.fns.nvrtcGetSupportedArchs(archs) as number);
    return [...archs];
  }

  /**
   * Compiles `source` for architecture `arch` (e.g. 'sm_90' for a CUBIN, 'compute_80' for
   * PTX). A compile error throws a CudaError whose detail is NVRTC's log.
   */
  compile(source: string, arch: string, opts: NvrtcCompileOptions = {}): CompiledModule {
    const name = opts.name ?? 'resgrad.cu';
    const p: unknown[] = [null];
    this.check('nvrtcCreateProgram', this.fns.nvrtcCreateProgram(p, source, name, 0, null, null) as number);
    const prog = p[0];
    try {
      const options = [`--gpu-architecture=${arch}`, ...KERNEL_OPTIONS, ...(opts.options ?? [])];
      const code = this.fns.nvrtcCompileProgram(prog, options.length, options) as number;
      const log = this.log(prog);
      this.check('nvrtcCompileProgram', code, code ? `program ${name}, options ${options.join(' ')}\n${log}` : undefined);
      const kind = arch.startsWith('sm_') ? 'cubin' : 'ptx';
      const [sizeFn, getFn] = kind === 'cubin' ? (['nvrtcGetCUBINSize', 'nvrtcGetCUBIN'] as const) : (['nvrtcGetPTXSize', 'nvrtcGetPTX'] as const);
      const size: unknown[] = [0];
      this.check(sizeFn, this.fns[sizeFn](prog, size) as number);
      const image = new Uint8Array(Number(size[0]));
      this.check(getFn, this.fns[getFn](prog, image) as number);
      return { kind, arch, image, log };
    } finally {
      this.fns.nvrtcDestroyProgram([prog]);
    }
  }

  private log(prog: unknown): string {
    const size: unknown[] = [0];
    if (this.fns.nvrtcGetProgramLogSize(prog, size) !== 0) return '';
    const buf = new Uint8Array(Number(size[0]));
    if (buf.length === 0 || this.fns.nvrtcGetProgramLog(prog, buf) !== 0) return '';
    return Buffer.from(buf.subarray(0, Math.max(0, buf.indexOf(0) < 0 ? buf.length : buf.indexOf(0)))).toString('utf8').trim();
  }
}

// Loaded libraries stay loaded for the process (koffi would unload an unreferenced one).
const keep: unknown[] = [];

/**
 * The compile target for a device of compute capability `cc` (e.g. [9, 0]): a CUBIN when this
 * NVRTC supports the device's architecture, else PTX for the newest architecture it supports
 * below the device's (the driver JIT-compiles PTX forward).
 */
export function chooseTarget(cc: readonly [number, number], supported: readonly number[]): string {
  const want = cc[0] * 10 + cc[1];
  if (supported.includes(want)) return `sm_${want}`;
  const below = supported.filter((a) => a <= want);
  if (below.length === 0) throw new Error(`@resgrad/backend-cuda: NVRTC supports no architecture up to sm_${want} (it has ${supported.join(', ')})`);
  return `compute_${Math.max(...below)}`;
}
