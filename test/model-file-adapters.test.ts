/**
 * Issue 11.1, the adapters and the class map by hand: float16 rounding (round to nearest even, as
 * torch's .half()), NCHW -> NHWC, static-batch chunks, 1,001 -> 1,000 with the background dropped,
 * class maps by WordNet id / index / name (repeated names like `crane` told apart by position).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseImagenetClassMap } from '../src/data/class-map.js';
import { adaptOutput, batchChunks, f16ArrayToF32, f32ToF16Bits, nchwToNhwc, NOT_SCORED, planInput, planOutput } from '../src/models/file/adapters.js';
import { SHARED } from './support/fixtures.js';

describe('float16', () => {
  it.each([
    [1, 0x3c00],
    [-2, 0xc000],
    [65504, 0x7bff], // largest half
    [65520, 0x7c00], // rounds up to infinity
    [1 + 2 ** -11, 0x3c00], // halfway between 1 and its successor: ties to even (1)
    [1 + 3 * 2 ** -11, 0x3c02], // halfway between 0x3c01 and 0x3c02: ties to even (0x3c02)
    [2 ** -24, 0x0001], // smallest subnormal
    [2 ** -26, 0x0000], // below half the smallest subnormal: zero
    [0.1, 0x2e66],
  ])('%f -> %s', (v, bits) => {
    expect(f32ToF16Bits(v)).toBe(bits);
  });

  it('round-trips every half value exactly', () => {
    const all = new Uint16Array(0x7c00).map((_, i) => i);
    const back = f16ArrayToF32(all);
    for (let i = 0; i < all.length; i++) expect(f32ToF16Bits(back[i]!)).toBe(i);
  });
});

describe('input adapters', () => {
  it('reads the layout, batch and size from the shape, and refuses what it cannot feed', () => {
    expect(planInput({ name: 'x', type: 'float32', shape: ['N', 3, 224, 224] })).toEqual({ name: 'x', layout: 'nchw', type: 'float32', batch: null, size: [224, 224] });
    expect(planInput({ name: 'x', type: 'float16', shape: [1, 160, 160, 3] })).toEqual({ name: 'x', layout: 'nhwc', type: 'float16', batch: 1, size: [160, 160] });
    expect(planInput({ name: 'x', type: 'float32', shape: ['N', 3, 'H', 'W'] }).size).toBeNull();
    expect(() => planInput({ name: 'x', type: 'uint8', shape: ['N', 224, 224, 3] })).toThrow(/uint8/);
    expect(() => planInput({ name: 'x', type: 'float32', shape: ['N', 1, 28, 28] })).toThrow(/no dimension of 3 RGB channels/);
  });

  it('transposes NCHW to NHWC', () => {
    // 1 image, 3 channels, 1x2: channel c, pixel p holds 10c + p.
    const x = Float32Array.from([0, 1, 10, 11, 20, 21]);
    expect([...nchwToNhwc(x, 1, 3, 1, 2)]).toEqual([0, 10, 20, 1, 11, 21]);
  });

  it('splits a batch into the static batch, the last chunk short (the engine pads it)', () => {
    expect(batchChunks(7, null)).toEqual([[0, 7]]);
    expect(batchChunks(7, 1)).toHaveLength(7);
    expect(batchChunks(7, 4)).toEqual([[0, 4], [4, 3]]);
  });
});

describe('output adapters and class maps', () => {
  it('drops the background of 1,001 outputs', () => {
    const raw = new Float32Array(2 * 1001).map((_, i) => i);
    const out = adaptOutput(planOutput(1001, null)!, raw, 2);
    expect([out[0], out[999], out[1000], out[1999]]).toEqual([1, 1000, 1002, 2001]);
    expect(planOutput(10, null)).toBeNull();
  });

  it('maps outputs by WordNet id, index, name and background; unmapped classes never win', () => {
    const map = parseImagenetClassMap('background\nn01443537\n7\ngreat white shark\n', 'm.txt');
    expect([...map.classes]).toEqual([-1, 1, 7, 2]);
    const out = adaptOutput(planOutput(4, map)!, Float32Array.from([9, 1, 2, 3]), 1);
    expect([out[1], out[7], out[2], out[0]]).toEqual([1, 2, 3, NOT_SCORED]);
  });

  it('reads ONNX Model Zoo / Keras label files, repeated names by position', () => {
    const text = readFileSync(join(SHARED, 'models', 'mobilenetv2-12-int8', 'imagenet_classes_standard_order.txt'), 'utf8');
    const map = parseImagenetClassMap(text, 'standard_order.txt', '--labels-of');
    expect([...map.classes]).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    // First names only (Keras' imagenet_class_index form), `crane` at 134 and 517.
    const first = text.trim().split('\n').map((l) => l.split(',')[0]!.trim());
    expect(first[134]).toBe('crane');
    expect([...parseImagenetClassMap(first.join('\n'), 'keras.txt').classes]).toEqual(Array.from({ length: 1000 }, (_, i) => i));
  });

  it('refuses unknown names and a class named twice, naming the line', () => {
    expect(() => parseImagenetClassMap('n01440764\nnot a class\n', 'bad.txt')).toThrow(/line 2 names no ImageNet class: 'not a class'/);
    expect(() => parseImagenetClassMap('0\nn01440764\n', 'dup.txt')).toThrow(/lines 1 and 2 both name class 0/);
  });
});
