import { describe, expect, it } from 'vitest';
import { random, ones } from '@resgrad/core';
import { countParams, profile, resnetCifar, resnetImagenet, summary, resnet20 } from '@resgrad/nn';

describe('resnetCifar', () => {
  // RESNET-SPEC.md: public re-implementations count 269,722 trainable parameters for ResNet-20 (option A).
  it('ResNet-20 with option A has 269,722 parameters', () => {
    expect(profile(resnetCifar({ depth: 20 }), [1, 3, 32, 32]).params).toBe(269_722);
  });

  it('parameter counts of the named depths match the paper table (0.27M ... 19.4M)', () => {
    const approx: [number, number][] = [
      [20, 0.27e6], [32, 0.46e6], [44, 0.66e6], [56, 0.85e6], [110, 1.7e6], [1202, 19.4e6],
    ];
    for (const [depth, paper] of approx) {
      const n = profile(resnetCifar({ depth }), [1, 3, 32, 32]).params;
      expect(Math.abs(n - paper) / paper, `depth ${depth}: ${n}`).toBeLessThan(0.03);
    }
  });

  it('plain nets have the same parameters as option-A ResNets; B and C add projections', () => {
    const a = profile(resnetCifar({ depth: 20 }), [1, 3, 32, 32]).params;
    expect(profile(resnetCifar({ depth: 20, plain: true }), [1, 3, 32, 32]).params).toBe(a);
    // B: two projections (16->32, 32->64), each a 1x1 conv plus BN.
    const b = profile(resnetCifar({ depth: 20, shortcut: 'B' }), [1, 3, 32, 32]).params;
    expect(b - a).toBe(16 * 32 + 2 * 32 + 32 * 64 + 2 * 64);
    const c = profile(resnetCifar({ depth: 20, shortcut: 'C' }), [1, 3, 32, 32]).params;
    expect(c).toBeGreaterThan(b);
  });

  it('rejects depths that are not 6n + 2', () => {
    expect(() => resnetCifar({ depth: 21 })).toThrow(/resnetCifar: depth must be 6n \+ 2/);
  });

  it('init gives torchvision-style names and the model runs', () => {
    const net = resnet20();
    const { params, state, outputShape } = net.init(random.key(0), [2, 3, 32, 32]);
    expect(outputShape).toEqual([2, 10]);
    expect(countParams(params)).toBe(269_722);
    const p = params as Record<string, any>;
    expect(Object.keys(p)).toEqual(['conv1', 'bn1', 'layer1', 'layer2', 'layer3', 'fc']);
    expect(p.layer2['0'].conv1.weight.shape).toEqual([32, 16, 3, 3]);
    expect((state as any).layer3['2'].bn2.running_var.shape).toEqual([64]);
    const [y] = net.apply(params, state, ones([2, 3, 32, 32]), { train: false });
    expect(y.shape).toEqual([2, 10]);
  });
});

describe('resnetImagenet', () => {
  // Parameter counts of torchvision's definitions and FLOPs (multiply-adds) of the paper's Table 1.
  const table: [18 | 34 | 50 | 101 | 152, number, number][] = [
    [18, 11_689_512, 1.8e9],
    [34, 21_797_672, 3.6e9],
    [50, 25_557_032, 3.8e9],
    [101, 44_549_160, 7.6e9],
    [152, 60_192_808, 11.3e9],
  ];
  for (const [depth, params, flops] of table) {
    it(`ResNet-${depth}: ${params} parameters exactly, FLOPs within 3 % of ${flops / 1e9}G`, () => {
      const p = profile(resnetImagenet({ depth }), [1, 3, 224, 224]);
      expect(p.params).toBe(params);
      expect(p.outputShape).toEqual([1, 1000]);
      expect(Math.abs(p.macs - flops) / flops).toBeLessThan(0.03);
    });
  }

  it('torchvision stride placement keeps the parameters and costs more', () => {
    const v1 = profile(resnetImagenet({ depth: 50 }), [1, 3, 224, 224]);
    const v15 = profile(resnetImagenet({ depth: 50, strideOn: '3x3' }), [1, 3, 224, 224]);
    expect(v15.params).toBe(v1.params);
    expect(v15.macs).toBeGreaterThan(v1.macs);
  });
});

describe('summary', () => {
  it('rows add up to the model totals', () => {
    const net = resnetCifar({ depth: 20 });
    const s = summary(net, [1, 3, 32, 32]);
    const whole = profile(net, [1, 3, 32, 32]);
    expect(s.total.params).toBe(whole.params);
    expect(s.total.macs).toBe(whole.macs);
    expect(s.rows.map((r) => r.name)).toContain('layer2.0');
    expect(s.text).toMatch(/layer3\.2\s+residual\s+\[1, 64, 8, 8\]/);
  });
});
