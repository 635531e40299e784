// conv2d and the pooling ops against naive loops written here (issue 2, "Tests"):
//  - conv2d forward and its VJPs (input and weights) against a direct NCHW/OIHW convolution and
//    its adjoints, over random stride, padding (symmetric, asymmetric, 'same', 'valid'),
//    dilation and groups; the naive adjoints are themselves checked against the naive forward;
//  - second order through conv2d: the gradient of a function of the conv gradient (this runs
//    the VJPs of conv2dInputGrad and conv2dWeightGrad), against finite differences;
//  - maxPool2d, avgPool2d and globalAvgPool: forward against naive loops, VJP against central
//    finite differences of the naive forward and against the naive adjoint.
// All in float64 on the reference backend.
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  add,
  avgPool2d,
  type Conv2dOptions,
  conv2d,
  globalAvgPool,
  grad,
  jvp,
  maxPool2d,
  mul,
  type Pool2dOptions,
  setDefaultBackend,
  sum,
  tanh,
  type Tensor,
  vjp,
} from '@resgrad/core';
import { absDot, distinct, dotArr, f64, fdGrad, fill, type Host, host, relErr, seedArb, toTensor } from './gradcheck.js';

beforeAll(() => setDefaultBackend('reference'));

// ---------------------------------------------------------------------------------------------
// Naive convolution: y[n, o, oh, ow] = sum_{c, kh, kw} x[n, g*Cg + c, oh*sh - top + kh*dh,
// ow*sw - left + kw*dw] * w[o, c, kh, kw] with g = o / (O / groups), zero outside the input.

interface Geom {
  N: number;
  C: number;
  H: number;
  W: number;
  O: number;
  KH: number;
  KW: number;
  groups: number;
  stride: [number, number];
  dilation: [number, number];
  /** [[top, bottom], [left, right]] */
  pad: [[number, number], [number, number]];
}

const outSize = (n: number, k: number, s: number, lo: number, hi: number, d: number) => Math.floor((n + lo + hi - d * (k - 1) - 1) / s) + 1;
const outShape = (g: Geom) => [
  g.N,
  g.O,
  outSize(g.H, g.KH, g.stride[0], g.pad[0][0], g.pad[0][1], g.dilation[0]),
  outSize(g.W, g.KW, g.stride[1], g.pad[1][0], g.pad[1][1], g.dilation[1]),
];

function naiveConv(x: ArrayLike<number>, w: ArrayLike<number>, g: Geom): Float64Array {
  const [, , OH, OW] = outShape(g);
  const Cg = g.C / g.groups;
  const Og = g.O / g.groups;
  const y = new Float64Array(g.N * g.O * OH! * OW!);
  for (let n = 0; n < g.N; n++)
    for (let o = 0; o < g.O; o++)
      for (let oh = 0; oh < OH!; oh++)
        for (let ow = 0; ow < OW!; ow++) {
          let acc = 0;
          for (let c = 0; c < Cg; c++) {
            const ci = Math.floor(o / Og) * Cg + c;
            for (let kh = 0; kh < g.KH; kh++)
              for (let kw = 0; kw < g.KW; kw++) {
                const ih = oh * g.stride[0] - g.pad[0][0] + kh * g.dilation[0];
                const iw = ow * g.stride[1] - g.pad[1][0] + kw * g.dilation[1];
                if (ih < 0 || ih >= g.H || iw < 0 || iw >= g.W) continue;
                acc += x[((n * g.C + ci) * g.H + ih) * g.W + iw]! * w[((o * Cg + c) * g.KH + kh) * g.KW + kw]!;
              }
          }
          y[((n * g.O + o) * OH! + oh) * OW! + ow] = acc;
        }
  return y;
}

/**
 * d<dy, conv(x, w)>/dx, written as a gather over each input pixel: the output positions and
 * taps that read it are those with oh*sh - top + kh*dh = ih (the transposed convolution).
 */
function naiveConvInputAdj(dy: ArrayLike<number>, w: ArrayLike<number>, g: Geom): Float64Array {
  const [, , OH, OW] = outShape(g);
  const Cg = g.C / g.groups;
  const Og = g.O / g.groups;
  const dx = new Float64Array(g.N * g.C * g.H * g.W);
  for (let n = 0; n < g.N; n++)
    for (let ci = 0; ci < g.C; ci++) {
      const grp = Math.floor(ci / Cg);
      const c = ci % Cg;
      for (let ih = 0; ih < g.H; ih++)
        for (let iw = 0; iw < g.W; iw++) {
          let acc = 0;
          for (let kh = 0; kh < g.KH; kh++) {
            const th = ih + g.pad[0][0] - kh * g.dilation[0];
            if (th < 0 || th % g.stride[0] !== 0 || th / g.stride[0] >= OH!) continue;
            const oh = th / g.stride[0];
            for (let kw = 0; kw < g.KW; kw++) {
              const tw = iw + g.pad[1][0] - kw * g.dilation[1];
              if (tw < 0 || tw % g.stride[1] !== 0 || tw / g.stride[1] >= OW!) continue;
              const ow = tw / g.stride[1];
              for (let o = grp * Og; o < (grp + 1) * Og; o++)
                acc += dy[((n * g.O + o) * OH! + oh) * OW! + ow]! * w[((o * Cg + c) * g.KH + kh) * g.KW + kw]!;
            }
          }
          dx[((n * g.C + ci) * g.H + ih) * g.W + iw] = acc;
        }
    }
  return dx;
}

/** d<dy, conv(x, w)>/dw: for each weight, the correlation of the input with dy. */
function naiveConvWeightAdj(x: ArrayLike<number>, dy: ArrayLike<number>, g: Geom): Float64Array {
  const [, , OH, OW] = outShape(g);
  const Cg = g.C / g.groups;
  const Og = g.O / g.groups;
  const dw = new Float64Array(g.O * Cg * g.KH * g.KW);
  for (let o = 0; o < g.O; o++)
    for (let c = 0; c < Cg; c++)
      for (let kh = 0; kh < g.KH; kh++)
        for (let kw = 0; kw < g.KW; kw++) {
          const ci = Math.floor(o / Og) * Cg + c;
          let acc = 0;
          for (let n = 0; n < g.N; n++)
            for (let oh = 0; oh < OH!; oh++)
              for (let ow = 0; ow < OW!; ow++) {
                const ih = oh * g.stride[0] - g.pad[0][0] + kh * g.dilation[0];
                const iw = ow * g.stride[1] - g.pad[1][0] + kw * g.dilation[1];
                if (ih < 0 || ih >= g.H || iw < 0 || iw >= g.W) continue;
                acc += x[((n * g.C + ci) * g.H + ih) * g.W + iw]! * dy[((n * g.O + o) * OH! + oh) * OW! + ow]!;
              }
          dw[((o * Cg + c) * g.KH + kh) * g.KW + kw] = acc;
        }
  return dw;
}

/** 'same' as documented: output ceil(n / stride), the odd padding element at the bottom/right. */
function samePad(n: number, k: number, s: number, d: number): [number, number] {
  const total = Math.max((Math.ceil(n / s) - 1) * s + d * (k - 1) + 1 - n, 0);
  return [Math.floor(total / 2), total - Math.floor(total / 2)];
}

type PadKind = 'int' | 'pair' | 'asym' | 'same' | 'valid';

/** A random convolution: its geometry and the equivalent library options, in every accepted spelling. */
const convCaseArb = fc
  .record({
    N: fc.integer({ min: 1, max: 2 }),
    groups: fc.integer({ min: 1, max: 3 }),
    cg: fc.integer({ min: 1, max: 2 }),
    og: fc.integer({ min: 1, max: 2 }),
    H: fc.integer({ min: 1, max: 6 }),
    W: fc.integer({ min: 1, max: 6 }),
    KH: fc.integer({ min: 1, max: 3 }),
    KW: fc.integer({ min: 1, max: 3 }),
    stride: fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })),
    dilation: fc.tuple(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 2 })),
    padKind: fc.constantFrom<PadKind>('int', 'pair', 'asym', 'same', 'valid'),
    pads: fc.noBias(fc.tuple(fc.nat(2), fc.nat(2), fc.nat(2), fc.nat(2))),
    pairForm: fc.boolean(),
    s1: seedArb,
    s2: seedArb,
    s3: seedArb,
  })
  .map((c) => {
    const [a, b, l, r] = c.pads;
    const pad: Geom['pad'] =
      c.padKind === 'int' ? [[a, a], [a, a]]
      : c.padKind === 'pair' ? [[a, a], [l, l]]
      : c.padKind === 'asym' ? [[a, b], [l, r]]
      : c.padKind === 'same' ? [samePad(c.H, c.KH, c.stride[0], c.dilation[0]), samePad(c.W, c.KW, c.stride[1], c.dilation[1])]
      : [[0, 0], [0, 0]];
    const padding: Conv2dOptions['padding'] =
      c.padKind === 'int' ? a : c.padKind === 'pair' ? [a, l] : c.padKind === 'asym' ? [[a, b], [l, r]] : c.padKind;
    const g: Geom = {
      N: c.N,
      C: c.groups * c.cg,
      H: c.H,
      W: c.W,
      O: c.groups * c.og,
      KH: c.KH,
      KW: c.KW,
      groups: c.groups,
      stride: c.stride,
      dilation: c.dilation,
      pad,
    };
    // Scalars where both entries agree and the pair form is not asked for.
    const one = (p: [number, number]) => (!c.pairForm && p[0] === p[1] ? p[0] : p);
    const options: Conv2dOptions = { stride: one(c.stride), dilation: one(c.dilation), padding, groups: c.groups };
    if (c.groups === 1 && !c.pairForm) delete options.groups;
    return { g, options, padKind: c.padKind, s1: c.s1, s2: c.s2, s3: c.s3 };
  })
  .filter(({ g }) => outShape(g)[2]! >= 1 && outShape(g)[3]! >= 1);

const wShape = (g: Geom) => [g.O, g.C / g.groups, g.KH, g.KW];
const xShape = (g: Geom) => [g.N, g.C, g.H, g.W];

function expectClose(got: ArrayLike<number>, want: ArrayLike<number>, tol: number, what: string) {
  const err = relErr(got, want);
  if (!(err <= tol)) throw new Error(`${what}: relative error ${err}\n  got  ${Array.from(got)}\n  want ${Array.from(want)}`);
}

describe('conv2d against a naive direct convolution (float64)', () => {
  it('the naive adjoints are the transposes of the naive convolution (oracle self-check)', () => {
    fc.assert(
      fc.property(convCaseArb, ({ g, s1, s2, s3 }) => {
        const x = fill(xShape(g), s1).data;
        const w = fill(wShape(g), s2).data;
        const dy = fill(outShape(g), s3).data;
        const t = dotArr(dy, naiveConv(x, w, g));
        const scale = absDot(dy, naiveConv(x.map(Math.abs), w.map(Math.abs), g));
        expect(Math.abs(dotArr(naiveConvInputAdj(dy, w, g), x) - t)).toBeLessThanOrEqual(1e-12 * scale);
        expect(Math.abs(dotArr(naiveConvWeightAdj(x, dy, g), w) - t)).toBeLessThanOrEqual(1e-12 * scale);
      }),
    );
  });

  it('forward: conv2d equals the naive convolution', () => {
    fc.assert(
      fc.property(convCaseArb, ({ g, options, padKind, s1, s2 }) => {
        const x = fill(xShape(g), s1);
        const w = fill(wShape(g), s2);
        const y = conv2d(toTensor(x), toTensor(w), options);
        expect(y.shape).toEqual(outShape(g));
        if (padKind === 'same') expect(y.shape.slice(2)).toEqual([Math.ceil(g.H / g.stride[0]), Math.ceil(g.W / g.stride[1])]);
        expectClose(f64(y), naiveConv(x.data, w.data, g), 1e-12, `conv2d ${JSON.stringify(options)}`);
      }),
    );
  });

  it('VJP: the input and weight cotangents equal the naive adjoints', () => {
    fc.assert(
      fc.property(convCaseArb, ({ g, options, s1, s2, s3 }) => {
        const x = fill(xShape(g), s1);
        const w = fill(wShape(g), s2);
        const dy = fill(outShape(g), s3);
        const [, back] = vjp((a: Tensor, b: Tensor) => conv2d(a, b, options), toTensor(x), toTensor(w));
        const [dx, dw] = back(toTensor(dy)) as [Tensor, Tensor];
        expect(dx.shape).toEqual(x.shape);
        expect(dw.shape).toEqual(w.shape);
        expectClose(f64(dx), naiveConvInputAdj(dy.data, w.data, g), 1e-12, `d/dx conv2d ${JSON.stringify(options)}`);
        expectClose(f64(dw), naiveConvWeightAdj(x.data, dy.data, g), 1e-12, `d/dw conv2d ${JSON.stringify(options)}`);
      }),
    );
  });

  it('VJP: the cotangents match central differences of the naive convolution', () => {
    fc.assert(
      fc.property(convCaseArb, ({ g, options, s1, s2, s3 }) => {
        const ins = [fill(xShape(g), s1), fill(wShape(g), s2)];
        const u = fill(outShape(g), s3);
        const [, back] = vjp((a: Tensor, b: Tensor) => conv2d(a, b, options), toTensor(ins[0]!), toTensor(ins[1]!));
        const gs = back(toTensor(u)) as Tensor[];
        const naive = (h: readonly Host[]) => naiveConv(h[0]!.data, h[1]!.data, g);
        [0, 1].forEach((i) => expectClose(f64(gs[i]!), fdGrad(naive, ins, i, u.data), 1e-6, `input ${i} of conv2d ${JSON.stringify(options)}`));
      }),
      { numRuns: 20 },
    );
  });
});

describe('second order through conv2d (VJPs of conv2dInputGrad and conv2dWeightGrad)', () => {
  // S(x, w) = sum(r * tanh(conv(x, w)));  L(x, w) = <q1, dS/dx> + <q2, dS/dw>.
  // dS/dy = r * (1 - tanh^2), dS/dx = conv^T_x(dS/dy, w), dS/dw = conv^T_w(x, dS/dy).
  function naiveL(x: ArrayLike<number>, w: ArrayLike<number>, r: ArrayLike<number>, q1: ArrayLike<number>, q2: ArrayLike<number>, g: Geom) {
    const y = naiveConv(x, w, g);
    const dy = y.map((v, i) => r[i]! * (1 - Math.tanh(v) ** 2));
    return dotArr(q1, naiveConvInputAdj(dy, w, g)) + dotArr(q2, naiveConvWeightAdj(x, dy, g));
  }

  it('grad of a function of the conv gradient matches finite differences', () => {
    fc.assert(
      fc.property(convCaseArb, seedArb, ({ g, options, s1, s2, s3 }, s4) => {
        const x = fill(xShape(g), s1);
        const w = fill(wShape(g), s2);
        const r = toTensor(fill(outShape(g), s3));
        const q1 = fill(xShape(g), s4);
        const q2 = fill(wShape(g), s4 + 1);
        const S = (a: Tensor, b: Tensor) => sum(mul(r, tanh(conv2d(a, b, options))));
        const dS = grad(S, { argnums: [0, 1] });
        const L = (a: Tensor, b: Tensor) => {
          const [gx, gw] = dS(a, b) as [Tensor, Tensor];
          return add(sum(mul(gx, toTensor(q1))), sum(mul(gw, toTensor(q2))));
        };
        const [gx, gw] = grad(L, { argnums: [0, 1] })(toTensor(x), toTensor(w)) as [Tensor, Tensor];
        const rd = f64(r);
        const naive = (h: readonly Host[]) => [naiveL(h[0]!.data, h[1]!.data, rd, q1.data, q2.data, g)];
        expectClose(f64(gx), fdGrad(naive, [x, w], 0, [1]), 1e-6, `d/dx L for ${JSON.stringify(options)}`);
        expectClose(f64(gw), fdGrad(naive, [x, w], 1, [1]), 1e-6, `d/dw L for ${JSON.stringify(options)}`);
      }),
      { numRuns: 20 },
    );
  });

  it('forward over reverse: jvp of the conv gradient is the Hessian-vector product', () => {
    fc.assert(
      fc.property(convCaseArb, seedArb, ({ g, options, s1, s2, s3 }, s4) => {
        const x = fill(xShape(g), s1);
        const w = fill(wShape(g), s2);
        const r = toTensor(fill(outShape(g), s3));
        const vx = fill(xShape(g), s4);
        const vw = fill(wShape(g), s4 + 1);
        const S = (a: Tensor, b: Tensor) => sum(mul(r, tanh(conv2d(a, b, options))));
        const dS = grad(S, { argnums: [0, 1] }) as (a: Tensor, b: Tensor) => [Tensor, Tensor];
        const [, [hx, hw]] = jvp(dS, [toTensor(x), toTensor(w)], [toTensor(vx), toTensor(vw)]) as [unknown, [Tensor, Tensor]];
        // Central differences of the (library) gradient along (vx, vw).
        const at = (s: number) =>
          dS(
            toTensor(host(x.shape, x.data.map((v, i) => v + s * 1e-5 * vx.data[i]!))),
            toTensor(host(w.shape, w.data.map((v, i) => v + s * 1e-5 * vw.data[i]!))),
          ).map(f64);
        const [px, pw] = at(1);
        const [mx, mw] = at(-1);
        expectClose(f64(hx), px!.map((v, i) => (v - mx![i]!) / 2e-5), 1e-6, 'H v (input part)');
        expectClose(f64(hw), pw!.map((v, i) => (v - mw![i]!) / 2e-5), 1e-6, 'H v (weight part)');
      }),
      { numRuns: 15 },
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Pooling: windows of kh x kw at stride (sh, sw) over the input padded by [[top, bottom],
// [left, right]]; max pooling ignores the padding (it is -inf), average pooling counts it as
// zeros (the divisor is always kh * kw).

interface PoolGeom {
  N: number;
  C: number;
  H: number;
  W: number;
  k: [number, number];
  s: [number, number];
  pad: [[number, number], [number, number]];
}

const poolOut = (p: PoolGeom) => [
  p.N,
  p.C,
  outSize(p.H, p.k[0], p.s[0], p.pad[0][0], p.pad[0][1], 1),
  outSize(p.W, p.k[1], p.s[1], p.pad[1][0], p.pad[1][1], 1),
];

/** Visits each window: its flat output index and the flat input indices it covers (padding skipped). */
function forEachWindow(p: PoolGeom, f: (yi: number, xis: number[]) => void) {
  const [, , OH, OW] = poolOut(p);
  for (let n = 0; n < p.N; n++)
    for (let c = 0; c < p.C; c++)
      for (let oh = 0; oh < OH!; oh++)
        for (let ow = 0; ow < OW!; ow++) {
          const xis: number[] = [];
          for (let i = 0; i < p.k[0]; i++)
            for (let j = 0; j < p.k[1]; j++) {
              const ih = oh * p.s[0] - p.pad[0][0] + i;
              const iw = ow * p.s[1] - p.pad[1][0] + j;
              if (ih >= 0 && ih < p.H && iw >= 0 && iw < p.W) xis.push(((n * p.C + c) * p.H + ih) * p.W + iw);
            }
          f(((n * p.C + c) * OH! + oh) * OW! + ow, xis);
        }
}

function naiveMaxPool(x: ArrayLike<number>, p: PoolGeom): Float64Array {
  const y = new Float64Array(poolOut(p).reduce((a, b) => a * b, 1));
  forEachWindow(p, (yi, xis) => (y[yi] = Math.max(...xis.map((i) => x[i]!))));
  return y;
}

function naiveAvgPool(x: ArrayLike<number>, p: PoolGeom): Float64Array {
  const y = new Float64Array(poolOut(p).reduce((a, b) => a * b, 1));
  forEachWindow(p, (yi, xis) => (y[yi] = xis.reduce((a, i) => a + x[i]!, 0) / (p.k[0] * p.k[1])));
  return y;
}

/** Adjoints: max routes each cotangent to its window's (unique) maximum, avg spreads it evenly. */
function naiveMaxPoolAdj(x: ArrayLike<number>, u: ArrayLike<number>, p: PoolGeom): Float64Array {
  const dx = new Float64Array(p.N * p.C * p.H * p.W);
  forEachWindow(p, (yi, xis) => {
    const best = xis.reduce((b, i) => (x[i]! > x[b]! ? i : b), xis[0]!);
    dx[best] = dx[best]! + u[yi]!;
  });
  return dx;
}

function naiveAvgPoolAdj(u: ArrayLike<number>, p: PoolGeom): Float64Array {
  const dx = new Float64Array(p.N * p.C * p.H * p.W);
  forEachWindow(p, (yi, xis) => xis.forEach((i) => (dx[i] = dx[i]! + u[yi]! / (p.k[0] * p.k[1]))));
  return dx;
}

/**
 * Random pooling geometry and the equivalent options. Explicit padding stays below the window
 * size, so that every window holds at least one input element.
 */
const poolCaseArb = fc
  .record({
    N: fc.integer({ min: 1, max: 2 }),
    C: fc.integer({ min: 1, max: 3 }),
    H: fc.integer({ min: 1, max: 6 }),
    W: fc.integer({ min: 1, max: 6 }),
    k: fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })),
    s: fc.option(fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })), { freq: 4 }),
    padKind: fc.constantFrom<PadKind | 'none'>('none', 'int', 'pair', 'asym', 'same', 'valid'),
    pads: fc.noBias(fc.tuple(fc.nat(2), fc.nat(2), fc.nat(2), fc.nat(2))),
    scalarForm: fc.boolean(),
    seed: seedArb,
    us: seedArb,
  })
  .map((c) => {
    const stride: [number, number] = c.s ?? c.k;
    const [kh, kw] = c.k;
    const lim = (v: number, k: number) => Math.min(v, k - 1);
    const [a, b, l, r] = c.pads;
    const pad: PoolGeom['pad'] =
      c.padKind === 'int' ? [[lim(a, Math.min(kh, kw)), lim(a, Math.min(kh, kw))], [lim(a, Math.min(kh, kw)), lim(a, Math.min(kh, kw))]]
      : c.padKind === 'pair' ? [[lim(a, kh), lim(a, kh)], [lim(l, kw), lim(l, kw)]]
      : c.padKind === 'asym' ? [[lim(a, kh), lim(b, kh)], [lim(l, kw), lim(r, kw)]]
      : c.padKind === 'same' ? [samePad(c.H, kh, stride[0], 1), samePad(c.W, kw, stride[1], 1)]
      : [[0, 0], [0, 0]];
    const padding: Pool2dOptions['padding'] =
      c.padKind === 'none' ? undefined
      : c.padKind === 'int' ? pad[0][0]
      : c.padKind === 'pair' ? [pad[0][0], pad[1][0]]
      : c.padKind === 'asym' ? pad
      : c.padKind;
    const one = (p: [number, number]) => (c.scalarForm && p[0] === p[1] ? p[0] : p);
    const options: Pool2dOptions = { kernel: one(c.k) };
    if (c.s) options.stride = one(c.s);
    if (padding !== undefined) options.padding = padding;
    const g: PoolGeom = { N: c.N, C: c.C, H: c.H, W: c.W, k: c.k, s: stride, pad };
    return { g, options, seed: c.seed, us: c.us };
  })
  .filter(({ g }) => poolOut(g)[2]! >= 1 && poolOut(g)[3]! >= 1);

const poolShape = (g: PoolGeom) => [g.N, g.C, g.H, g.W];

describe('pooling against naive loops (float64)', () => {
  it('maxPool2d forward equals the naive window maximum', () => {
    fc.assert(
      fc.property(poolCaseArb, ({ g, options, seed }) => {
        const x = fill(poolShape(g), seed);
        const y = maxPool2d(toTensor(x), options);
        expect(y.shape).toEqual(poolOut(g));
        expect(Array.from(f64(y))).toEqual(Array.from(naiveMaxPool(x.data, g)));
      }),
    );
  });

  it('maxPool2d VJP matches central differences and the naive adjoint (values without ties)', () => {
    fc.assert(
      fc.property(poolCaseArb, ({ g, options, seed, us }) => {
        const x = distinct(poolShape(g), seed);
        const u = fill(poolOut(g), us);
        const [, back] = vjp((t: Tensor) => maxPool2d(t, options), toTensor(x));
        const [dx] = back(toTensor(u)) as [Tensor];
        expect(dx.shape).toEqual(x.shape);
        expectClose(f64(dx), naiveMaxPoolAdj(x.data, u.data, g), 1e-15, `maxPool2d adjoint ${JSON.stringify(options)}`);
        expectClose(f64(dx), fdGrad((h) => naiveMaxPool(h[0]!.data, g), [x], 0, u.data), 1e-6, `maxPool2d FD ${JSON.stringify(options)}`);
      }),
    );
  });

  it('avgPool2d forward equals the naive window mean (padding counted as zeros)', () => {
    fc.assert(
      fc.property(poolCaseArb, ({ g, options, seed }) => {
        const x = fill(poolShape(g), seed);
        const y = avgPool2d(toTensor(x), options);
        expect(y.shape).toEqual(poolOut(g));
        expectClose(f64(y), naiveAvgPool(x.data, g), 1e-14, `avgPool2d ${JSON.stringify(options)}`);
      }),
    );
  });

  it('avgPool2d VJP matches central differences and the naive adjoint', () => {
    fc.assert(
      fc.property(poolCaseArb, ({ g, options, seed, us }) => {
        const x = fill(poolShape(g), seed);
        const u = fill(poolOut(g), us);
        const [, back] = vjp((t: Tensor) => avgPool2d(t, options), toTensor(x));
        const [dx] = back(toTensor(u)) as [Tensor];
        expect(dx.shape).toEqual(x.shape);
        expectClose(f64(dx), naiveAvgPoolAdj(u.data, g), 1e-14, `avgPool2d adjoint ${JSON.stringify(options)}`);
        expectClose(f64(dx), fdGrad((h) => naiveAvgPool(h[0]!.data, g), [x], 0, u.data), 1e-6, `avgPool2d FD ${JSON.stringify(options)}`);
      }),
    );
  });

  it('globalAvgPool: forward is the spatial mean, VJP matches central differences', () => {
    const arb = fc.record({
      shape: fc.tuple(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 5 })),
      seed: seedArb,
      us: seedArb,
    });
    const naive = (x: ArrayLike<number>, [N, C, H, W]: readonly number[]) =>
      Float64Array.from({ length: N! * C! }, (_, nc) => {
        let s = 0;
        for (let i = 0; i < H! * W!; i++) s += x[nc * H! * W! + i]!;
        return s / (H! * W!);
      });
    fc.assert(
      fc.property(arb, ({ shape, seed, us }) => {
        const x = fill(shape, seed);
        const y = globalAvgPool(toTensor(x));
        expect(y.shape).toEqual(shape.slice(0, 2));
        expectClose(f64(y), naive(x.data, shape), 1e-14, 'globalAvgPool');
        const u = fill(shape.slice(0, 2), us);
        const [, back] = vjp(globalAvgPool, toTensor(x));
        const [dx] = back(toTensor(u)) as [Tensor];
        expectClose(f64(dx), fdGrad((h) => naive(h[0]!.data, shape), [x], 0, u.data), 1e-6, 'globalAvgPool FD');
      }),
    );
  });

  it('maxPool2d ties: the cotangent goes to one element of the window (the first in scan order)', () => {
    // A constant window: max(a, b) sends the gradient to its first operand on ties.
    const x = toTensor(host([1, 1, 2, 2], new Float64Array([1, 1, 1, 1])));
    const g = f64(grad((t: Tensor) => sum(maxPool2d(t, { kernel: 2 })))(x) as Tensor);
    expect(Array.from(g)).toEqual([1, 0, 0, 0]);
  });
});

