// The C dialect of the CPU backend: core's C-like dialect (kernel/render/clike) spelled with
// compiler builtins only (no #include): __builtin_exp and friends, __builtin_nan/__builtin_inf
// for non-finite literals, hex-float constants, and the prelude's rg_maxf/rg_maxd helpers.
// Types are fixed-width typedefs of compiler macros (prelude.ts); bool is uint8_t 0/1.
import { cDialect, cSyntax, type CDialect, type Syntax } from '@resgrad/core';
import { C_SPEC } from './spec.js';

/** A C dialect: scalar types, literals and one rendering per ALU op. */
export type Dialect = CDialect;

/** The C dialect of the CPU backend. */
export const C_DIALECT: Dialect = cDialect(C_SPEC);

/** A C literal that parses to exactly `value` in `dtype`. */
export const literal = C_DIALECT.literal;

/** The C statement syntax for kernels in dialect `d` (int64 index arithmetic). */
export const cpuSyntax = (d: Dialect): Syntax => cSyntax(C_SPEC, d.type);

export { C_PRELUDE } from './prelude.js';
