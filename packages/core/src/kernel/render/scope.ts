// Expr -> statements in SSA form, for any target: every node becomes one read-only local,
// memoised by structure (key.ts), so a subtree the scheduler shares is computed once per
// point. Scopes nest: the branches of a `select` and the body of a reduction loop are child
// scopes whose locals are visible only inside them, so a load guarded by a select is never
// hoisted out of its branch (and never touches memory where its condition is false).
// Literals are printed inline (cheaper than a local); everything a target spells differently
// comes from its Dialect (values) and Syntax (statements).
import type { Expr } from '../ir.js';
import type { Dialect } from './dialect.js';
import { indexPrinter, type IndexPrinter } from './idx.js';
import { ExprKeys } from './key.js';
import type { Syntax } from './syntax.js';

/** What expressions refer to: kernel arguments, axis names and extents, the reduced value. */
export interface ExprContext {
  readonly dialect: Dialect;
  readonly syntax: Syntax;
  /** The expression of element `index` (an index expression) of kernel argument `arg`. */
  load(arg: number, index: string): string;
  /** The variable of axis `a`. */
  axis(a: number): string;
  /** Extents of all axes (output, then reduction), for index range analysis. */
  readonly extents: readonly number[];
  /** Name of the rounded reduction result, where `reduced` may appear (the epilogue). */
  reduced?: string;
  /** Fresh local names, shared across scopes. */
  fresh(): string;
}

/** Indents a line by one level (two spaces). */
export const indent = (line: string): string => `  ${line}`;

/** A block of statements with its memo of rendered nodes; lookups fall back to the parent. */
export class Scope {
  readonly lines: string[] = [];
  private readonly memo = new Map<string, string>();
  private readonly idx: IndexPrinter;

  constructor(
    readonly ctx: ExprContext,
    readonly parent?: Scope,
    private readonly keys: ExprKeys = parent?.keys ?? new ExprKeys(),
  ) {
    this.idx = indexPrinter(ctx.syntax.index, (a) => ctx.axis(a), ctx.extents);
  }

  private lookup(key: string): string | undefined {
    return this.memo.get(key) ?? this.parent?.lookup(key);
  }

  /** Renders `e` into this scope (once) and returns the expression of its value. */
  emit(e: Expr): string {
    const { ctx, idx } = this;
    const d = ctx.dialect;
    const s = ctx.syntax;
    if (e.op === 'const') return d.literal(e.value, e.dtype);
    if (e.op === 'reduced') {
      if (!ctx.reduced) throw new Error(`${s.who}: a \`reduced\` node outside a reduction epilogue`);
      return ctx.reduced;
    }
    const key = this.keys.of(e);
    const hit = this.lookup(key);
    if (hit) return hit;
    const t = s.type(e.dtype, `expression '${e.op}'`);
    const name = ctx.fresh();
    switch (e.op) {
      case 'load': {
        const at = ctx.load(e.arg, idx.int(e.index));
        if (e.valid) this.lines.push(...s.guardedLoad(name, t, idx.cond(e.valid), at, d.literal(e.fill ?? 0, e.dtype)));
        else this.lines.push(s.define(name, t, at));
        break;
      }
      case 'index':
        this.lines.push(s.define(name, t, d.fromIndex(idx.int(e.index), e.dtype)));
        break;
      case 'alu': {
        const xs = e.args.map((a) => this.emit(a));
        const operand = e.alu === 'where' ? e.args[1]!.dtype : e.args[0]!.dtype;
        this.lines.push(s.define(name, t, d.alu(e.alu, xs, e.dtype, operand)));
        break;
      }
      case 'select': {
        // Only the chosen branch runs: each is a child scope.
        const th = new Scope(ctx, this);
        const tv = th.emit(e.then);
        const el = new Scope(ctx, this);
        const ev = el.emit(e.else);
        this.lines.push(s.declare(name, t));
        this.lines.push(s.branch(idx.cond(e.cond)), ...th.lines.map(indent), `  ${name} = ${tv};`, '} else {', ...el.lines.map(indent), `  ${name} = ${ev};`, '}');
        break;
      }
      case 'threefry': {
        const k0 = this.emit(e.key[0]);
        const k1 = this.emit(e.key[1]);
        this.lines.push(s.define(name, t, s.threefry(k0, k1, e.stream >>> 0, idx.int(e.counter))));
        break;
      }
    }
    this.memo.set(key, name);
    return name;
  }
}
