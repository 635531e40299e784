/** Formats a shape for error messages: `[2, 3]`. */
export function fmtShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/** An error raised by a resgrad op; its message starts with the op's name. */
export class ResgradError extends Error {
  constructor(
    readonly op: string,
    message: string,
  ) {
    super(`${op}: ${message}`);
    this.name = 'ResgradError';
  }
}

/** Throws a ResgradError naming `op`. */
export function fail(op: string, message: string): never {
  throw new ResgradError(op, message);
}

export function check(cond: boolean, op: string, message: () => string): asserts cond {
  if (!cond) throw new ResgradError(op, message());
}
