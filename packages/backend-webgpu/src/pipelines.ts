// Compute pipelines cached by their WGSL (hashed; the source is compared on a hit, so a hash
// collision can never hand back the wrong pipeline). Creation happens inside error scopes, so
// a shader that fails to compile or validate is reported with the kernel's name and source.
/// <reference types="@webgpu/types" />

/** FNV-1a, 32 bits, of a string's UTF-16 code units: the cache key. */
export function hashWgsl(code: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < code.length; i++) {
    h ^= code.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** An error in a generated kernel: compilation, validation, or execution on the device. */
export class WebGPUKernelError extends Error {
  constructor(
    message: string,
    /** The kernel description(s) at fault. */
    readonly kernels: readonly string[],
    /** The WGSL involved, when one shader is at fault. */
    readonly wgsl?: string,
  ) {
    super(`@resgrad/backend-webgpu: ${message}`);
    this.name = 'WebGPUKernelError';
  }
}

const numbered = (code: string) =>
  code
    .split('\n')
    .map((l, i) => `${String(i + 1).padStart(4)}| ${l}`)
    .join('\n');

interface Entry {
  code: string;
  what: string;
  pipeline: GPUComputePipeline;
  /** Resolves once the device has validated the pipeline; rejects with the kernel's error. */
  ready: Promise<void>;
}

/** The pipeline cache of one device. */
export class PipelineCache {
  private readonly entries = new Map<number, Entry[]>();
  private readonly layouts = new Map<string, GPUBindGroupLayout>();
  /** Pipelines created (cache misses). */
  created = 0;
  /** Cache hits. */
  hits = 0;

  /** The WGSL of every cached pipeline, with its kernel description. */
  *sources(): IterableIterator<{ code: string; what: string }> {
    for (const list of this.entries.values()) for (const e of list) yield { code: e.code, what: e.what };
  }

  constructor(private readonly device: GPUDevice) {}

  /** The bind group layout of `count` storage bindings: 0 read-write (the output), the rest read-only. */
  layout(count: number): GPUBindGroupLayout {
    const key = String(count);
    let l = this.layouts.get(key);
    if (!l) {
      const entries: GPUBindGroupLayoutEntry[] = [];
      for (let b = 0; b < count; b++)
        entries.push({ binding: b, visibility: 4 /* GPUShaderStage.COMPUTE */, buffer: { type: b === 0 ? 'storage' : 'read-only-storage' } });
      l = this.device.createBindGroupLayout({ entries, label: `resgrad ${count} storage bindings` });
      this.layouts.set(key, l);
    }
    return l;
  }

  /**
   * The pipeline of `code` (entry point `main`) with `count` bindings, created on a miss.
   * `what` names the kernel in errors.
   */
  get(code: string, count: number, what: string): Entry {
    const h = hashWgsl(code);
    const list = this.entries.get(h) ?? [];
    const hit = list.find((e) => e.code === code);
    if (hit) {
      this.hits++;
      return hit;
    }
    this.created++;
    const device = this.device;
    device.pushErrorScope('validation');
    const module = device.createShaderModule({ code, label: what });
    const pipeline = device.createComputePipeline({
      label: what,
      layout: device.createPipelineLayout({ bindGroupLayouts: [this.layout(count)] }),
      compute: { module, entryPoint: 'main' },
    });
    const scope = device.popErrorScope();
    const ready = (async () => {
      const err = await scope;
      if (!err) return;
      let messages = '';
      try {
        const info = await module.getCompilationInfo();
        messages = info.messages.map((m) => `${m.type} at ${m.lineNum}:${m.linePos}: ${m.message}`).join('\n');
      } catch {
        // getCompilationInfo is optional in some implementations; the scope's message remains
      }
      throw new WebGPUKernelError(`kernel ${what} failed to compile: ${err.message}${messages ? `\n${messages}` : ''}\n${numbered(code)}`, [what], code);
    })();
    // Observed by whoever awaits it (the backend's next read); never an unhandled rejection.
    ready.catch(() => {});
    const entry = { code, what, pipeline, ready };
    list.push(entry);
    this.entries.set(h, list);
    return entry;
  }
}

/**
 * Compiles `code` as a shader module and returns the compiler's messages (errors and warnings),
 * for tests that validate every generated kernel.
 */
export async function compilationMessages(device: GPUDevice, code: string): Promise<GPUCompilationMessage[]> {
  device.pushErrorScope('validation');
  const module = device.createShaderModule({ code });
  const info = await module.getCompilationInfo();
  await device.popErrorScope();
  return [...info.messages];
}
