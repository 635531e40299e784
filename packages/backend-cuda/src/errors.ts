// Error codes of the CUDA driver, NVRTC and cuBLAS, mapped to their names and messages.
// The driver can name its own codes (cuGetErrorName/String) and we ask it when it is loaded;
// these tables serve when it cannot (a failed cuInit, NVRTC or cuBLAS alone) and keep the
// messages testable without a GPU.

/** CUresult codes (cuda.h) that a user can meet, with the driver's own wording. */
export const CU_RESULT: Readonly<Record<number, readonly [string, string]>> = {
  0: ['CUDA_SUCCESS', 'no error'],
  1: ['CUDA_ERROR_INVALID_VALUE', 'invalid argument'],
  2: ['CUDA_ERROR_OUT_OF_MEMORY', 'out of memory'],
  3: ['CUDA_ERROR_NOT_INITIALIZED', 'initialization error'],
  4: ['CUDA_ERROR_DEINITIALIZED', 'driver shutting down'],
  34: ['CUDA_ERROR_STUB_LIBRARY', 'CUDA driver is a stub library'],
  46: ['CUDA_ERROR_DEVICE_UNAVAILABLE', 'CUDA-capable device(s) is/are busy or unavailable'],
  100: ['CUDA_ERROR_NO_DEVICE', 'no CUDA-capable device is detected'],
  101: ['CUDA_ERROR_INVALID_DEVICE', 'invalid device ordinal'],
  200: ['CUDA_ERROR_INVALID_IMAGE', 'device kernel image is invalid'],
  201: ['CUDA_ERROR_INVALID_CONTEXT', 'invalid device context'],
  209: ['CUDA_ERROR_NO_BINARY_FOR_GPU', 'no kernel image is available for execution on the device'],
  214: ['CUDA_ERROR_ECC_UNCORRECTABLE', 'uncorrectable ECC error encountered'],
  218: ['CUDA_ERROR_INVALID_PTX', 'a PTX JIT compilation failed'],
  221: ['CUDA_ERROR_JIT_COMPILER_NOT_FOUND', 'PTX JIT compiler library not found'],
  222: ['CUDA_ERROR_UNSUPPORTED_PTX_VERSION', 'the provided PTX was compiled with an unsupported toolchain'],
  300: ['CUDA_ERROR_INVALID_SOURCE', 'device kernel image is invalid'],
  301: ['CUDA_ERROR_FILE_NOT_FOUND', 'file not found'],
  400: ['CUDA_ERROR_INVALID_HANDLE', 'invalid resource handle'],
  500: ['CUDA_ERROR_NOT_FOUND', 'named symbol not found'],
  600: ['CUDA_ERROR_NOT_READY', 'device not ready'],
  700: ['CUDA_ERROR_ILLEGAL_ADDRESS', 'an illegal memory access was encountered'],
  701: ['CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES', 'too many resources requested for launch'],
  702: ['CUDA_ERROR_LAUNCH_TIMEOUT', 'the launch timed out and was terminated'],
  710: ['CUDA_ERROR_ASSERT', 'device-side assert triggered'],
  715: ['CUDA_ERROR_ILLEGAL_INSTRUCTION', 'an illegal instruction was encountered'],
  716: ['CUDA_ERROR_MISALIGNED_ADDRESS', 'misaligned address'],
  719: ['CUDA_ERROR_LAUNCH_FAILED', 'unspecified launch failure'],
  720: ['CUDA_ERROR_COOPERATIVE_LAUNCH_TOO_LARGE', 'too many blocks in cooperative launch'],
  803: ['CUDA_ERROR_SYSTEM_DRIVER_MISMATCH', 'system has unsupported display driver / cuda driver combination'],
  804: ['CUDA_ERROR_COMPAT_NOT_SUPPORTED_ON_DEVICE', 'forward compatibility was attempted on non supported HW'],
  900: ['CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED', 'operation not permitted when stream is capturing'],
  901: ['CUDA_ERROR_STREAM_CAPTURE_INVALIDATED', 'operation failed due to a previous error during capture'],
  999: ['CUDA_ERROR_UNKNOWN', 'unknown error'],
};

/** nvrtcResult codes (nvrtc.h). */
export const NVRTC_RESULT: Readonly<Record<number, string>> = {
  0: 'NVRTC_SUCCESS',
  1: 'NVRTC_ERROR_OUT_OF_MEMORY',
  2: 'NVRTC_ERROR_PROGRAM_CREATION_FAILURE',
  3: 'NVRTC_ERROR_INVALID_INPUT',
  4: 'NVRTC_ERROR_INVALID_PROGRAM',
  5: 'NVRTC_ERROR_INVALID_OPTION',
  6: 'NVRTC_ERROR_COMPILATION',
  7: 'NVRTC_ERROR_BUILTIN_OPERATION_FAILURE',
  8: 'NVRTC_ERROR_NO_NAME_EXPRESSIONS_AFTER_COMPILATION',
  9: 'NVRTC_ERROR_NO_LOWERED_NAMES_BEFORE_COMPILATION',
  10: 'NVRTC_ERROR_NAME_EXPRESSION_NOT_VALID',
  11: 'NVRTC_ERROR_INTERNAL_ERROR',
  12: 'NVRTC_ERROR_TIME_FILE_WRITE_FAILED',
};

/** cublasStatus_t codes (cublas_api.h). */
export const CUBLAS_STATUS: Readonly<Record<number, string>> = {
  0: 'CUBLAS_STATUS_SUCCESS',
  1: 'CUBLAS_STATUS_NOT_INITIALIZED',
  3: 'CUBLAS_STATUS_ALLOC_FAILED',
  7: 'CUBLAS_STATUS_INVALID_VALUE',
  8: 'CUBLAS_STATUS_ARCH_MISMATCH',
  11: 'CUBLAS_STATUS_MAPPING_ERROR',
  13: 'CUBLAS_STATUS_EXECUTION_FAILED',
  14: 'CUBLAS_STATUS_INTERNAL_ERROR',
  15: 'CUBLAS_STATUS_NOT_SUPPORTED',
  16: 'CUBLAS_STATUS_LICENSE_ERROR',
};

/** Which library an error came from. */
export type CudaLibrary = 'driver' | 'nvrtc' | 'cublas';

/**
 * A failed call into a CUDA library: the call, its numeric code, the code's name and the
 * library's message. `detail` adds context (an NVRTC log, the sizes of a failed allocation).
 */
export class CudaError extends Error {
  override name = 'CudaError';
  constructor(
    readonly library: CudaLibrary,
    readonly call: string,
    readonly code: number,
    readonly codeName: string,
    readonly description: string,
    readonly detail?: string,
  ) {
    super(`@resgrad/backend-cuda: ${call} failed with ${codeName} (${code}): ${description}${detail ? `\n${detail}` : ''}`);
  }
}

/** The device ran out of memory; names the request and what was free. */
export class CudaOutOfMemoryError extends CudaError {
  override name = 'CudaOutOfMemoryError';
  constructor(
    call: string,
    readonly requestedBytes: number,
    readonly freeBytes: number | undefined,
    readonly totalBytes: number | undefined,
    readonly cachedBytes: number,
  ) {
    super(
      'driver',
      call,
      2,
      'CUDA_ERROR_OUT_OF_MEMORY',
      `out of memory allocating ${formatBytes(requestedBytes)} ` +
        (freeBytes === undefined ? '(free memory unknown)' : `(${formatBytes(freeBytes)} free of ${formatBytes(totalBytes ?? 0)} on the device)`) +
        `; resgrad held ${formatBytes(cachedBytes)} in its allocator cache, released before this retry`,
    );
  }
}

/** The name and message of a CUresult from the table (the driver's own wording). */
export function describeCuResult(code: number): { name: string; message: string } {
  const e = CU_RESULT[code];
  return e ? { name: e[0], message: e[1] } : { name: `CUresult ${code}`, message: 'unrecognised CUDA driver error' };
}

/** A human size: bytes, KiB, MiB or GiB with two decimals. */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(2)} ${units[u]}`;
}
