/**
 * Checkpoint readers against shared/golden/formats (files written by PyTorch 1.13 and numpy):
 * every tensor equals expected.json exactly, hostile pickles are refused by name and run nothing,
 * plus the container variants the golden files do not cover (ZIP64, deflate, protocol-4 pickles,
 * Fortran-order and big-endian numpy arrays).
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { crc32, deflateRawSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { WeightsError } from '../src/errors.js';
import type { HostTensor } from '../src/models/graph.js';
import { detectFormat, loadCheckpoint, parseCheckpoint } from '../src/models/weights/index.js';
import { ZipReader } from '../src/models/weights/zip.js';

const FORMATS = join(import.meta.dirname, '..', '..', 'shared', 'golden', 'formats');
const PWNED = '/tmp/zoo-pickle-pwned';

interface Expected {
  dtype: string;
  shape: number[];
  values: number[];
}
const expected = JSON.parse(readFileSync(join(FORMATS, 'expected.json'), 'utf8')) as Record<string, Expected>;

/** float16/bfloat16 are widened to float32 by the readers; integer types come back as int64. */
const hostDtype = (d: string) => (d.startsWith('int') || d === 'uint8' || d === 'bool' ? 'int64' : 'float32');

function expectTensor(name: string, t: HostTensor | undefined, e: Expected): void {
  expect(t, name).toBeDefined();
  expect(t!.dtype, name).toBe(hostDtype(e.dtype));
  expect([...t!.shape], name).toEqual(e.shape);
  const values = Array.from(t!.data as ArrayLike<number | bigint>, (v) => Number(v));
  // Exact: Object.is also tells -0 from 0, and every value round-trips through JSON exactly.
  expect(values.length, name).toBe(e.values.length);
  values.forEach((v, i) => {
    if (!Object.is(v, e.values[i]) && v !== e.values[i]) expect(v, `${name}[${i}]`).toBe(e.values[i]);
  });
}

async function expectAllOf(file: string, names: string[]): Promise<Map<string, HostTensor>> {
  const m = await loadCheckpoint(join(FORMATS, file));
  expect([...m.keys()].sort()).toEqual([...names].sort());
  for (const name of names) expectTensor(name, m.get(name), expected[name]!);
  return m;
}

describe('golden checkpoint files', () => {
  const all = Object.keys(expected);

  it('has the 15 tensors we expect in expected.json', () => {
    expect(all).toHaveLength(15);
  });

  it.each([
    ['state_dict.pth', 'torch-zip'],
    ['state_dict_legacy.pth', 'torch-legacy'],
    ['training_checkpoint.pth.tar', 'torch-zip'],
    ['state_dict.safetensors', 'safetensors'],
    ['paddle_style.pdparams', 'pickle'],
  ])('%s is recognised by content as %s', (file, format) => {
    expect(detectFormat(readFileSync(join(FORMATS, file)))).toBe(format);
  });

  it('state_dict.pth (zip layout) equals expected.json exactly', async () => {
    await expectAllOf('state_dict.pth', all);
  });

  it('state_dict_legacy.pth (pre-1.6 layout) equals expected.json exactly', async () => {
    await expectAllOf('state_dict_legacy.pth', all);
  });

  it('training_checkpoint.pth.tar: state_dict found, module. stripped, optimizer ignored', async () => {
    await expectAllOf('training_checkpoint.pth.tar', all);
  });

  it('state_dict.safetensors equals expected.json exactly', async () => {
    await expectAllOf('state_dict.safetensors', all);
  });

  it('paddle_style.pdparams: its arrays equal expected.json, the name table is ignored', async () => {
    await expectAllOf('paddle_style.pdparams', [
      'conv.weight',
      'bn.weight',
      'bn.bias',
      'bn.running_mean',
      'bn.running_var',
      'bn.num_batches_tracked',
      'half.weight',
      'bf16.weight',
      'index',
      'fc.weight',
      'fc.bias',
    ]);
  });

  it('shared.* views of one storage honour offset and strides', async () => {
    const m = await loadCheckpoint(join(FORMATS, 'state_dict.pth'));
    const base = m.get('shared.base')!.data as Float32Array;
    const tr = m.get('shared.transposed')!.data as Float32Array;
    const sl = m.get('shared.slice')!.data as Float32Array;
    // transposed[j][i] == base[i][j]; slice is 2x4 at storage offset 11 with row stride 5.
    for (let i = 0; i < 6; i++) for (let j = 0; j < 5; j++) expect(tr[j * 6 + i]).toBe(base[i * 5 + j]);
    for (let r = 0; r < 2; r++) for (let c = 0; c < 4; c++) expect(sl[r * 4 + c]).toBe(base[11 + r * 5 + c]);
  });
});

describe('hostile pickles', () => {
  it.each(['malicious.pth', 'malicious.pdparams'])('%s is refused naming posix.system, and nothing runs', async (file) => {
    rmSync(PWNED, { force: true });
    const err = await loadCheckpoint(join(FORMATS, file)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WeightsError);
    expect((err as WeightsError).message).toContain('forbidden global posix.system');
    expect((err as WeightsError).exitCode).toBe(4);
    expect((err as WeightsError).file).toBe(join(FORMATS, file));
    expect((err as WeightsError).fix).toBeTruthy();
    expect(existsSync(PWNED)).toBe(false);
  });

  const bytes = (...parts: (string | number[])[]) =>
    Uint8Array.from(parts.flatMap((p) => (typeof p === 'string' ? [...p].map((c) => c.charCodeAt(0)) : p)));

  it('refuses a protocol-4 STACK_GLOBAL of builtins.eval by name', () => {
    const p = bytes([0x80, 4], [0x8c, 8], 'builtins', [0x8c, 4], 'eval', [0x93], [0x8c, 3], '1+1', [0x85, 0x52, 0x2e]);
    expect(() => parseCheckpoint(p, 'x.pdparams')).toThrow(/forbidden global builtins\.eval/);
  });

  it('refuses the INST opcode (calls a class in protocol 0/1)', () => {
    const p = bytes([0x80, 2, 0x28], 'ios\nsystem\n', [0x2e]);
    expect(() => parseCheckpoint(p, 'x.pth')).toThrow(/opcode 0x69/);
  });

  it('refuses calling an allowed class marker (torch.FloatStorage) with REDUCE', () => {
    const p = bytes([0x80, 2], 'ctorch\nFloatStorage\n', [0x29, 0x52, 0x2e]);
    expect(() => parseCheckpoint(p, 'x.pth')).toThrow(WeightsError);
  });

  it('refuses a persistent id in a plain pickle', () => {
    const p = bytes([0x80, 2, 0x4b, 1, 0x51, 0x2e]);
    expect(() => parseCheckpoint(p, 'x.pth')).toThrow(/persistent id/);
  });

  it('refuses a length larger than the file before allocating it', () => {
    const p = bytes([0x80, 4, 0x8e, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 0x2e]);
    expect(() => parseCheckpoint(p, 'x.pdparams')).toThrow(/exceeds the file/);
  });
});

describe('container variants', () => {
  // pickle.dumps(d, protocol=4) with numpy 2: STACK_GLOBAL, MEMOIZE, FRAME, BINBYTES,
  // numpy._core.multiarray._reconstruct, Fortran order, big-endian, float16, bool, a numpy scalar
  // and a Paddle name table.
  const PROTOCOL4 =
    'gASViwIAAAAAAAB9lCiMAXeUjBZudW1weS5fY29yZS5tdWx0aWFycmF5lIwMX3JlY29uc3RydWN0lJOUjAVudW1weZSMB25kYXJyYXmUk5RLAIWUQwFilIeUUpQoSwFLAksDhpRoBYwFZHR5cGWUk5SMAmY0lImIh5RSlChLA4wBPJROTk5K/////0r/////SwB0lGKJQxgAACDAAADAvwAAAL8AAAA/AADAPwAAIECUdJRijAdmb3J0cmFulGgEaAdLAIWUaAmHlFKUKEsBSwJLA4aUaA6MAmY4lImIh5RSlChLA2gSTk5OSv////9K/////0sAdJRiiEMwAAAAAAAAAAAAAAAAAAD4PwAAAAAAAOA/AAAAAAAAAEAAAAAAAADwPwAAAAAAAARAlHSUYowDYmlnlGgEaAdLAIWUaAmHlFKUKEsBSwSFlGgOjAJpNJSJiIeUUpQoSwNoEk5OTkr/////Sv////9LAHSUYolDEP////8AAAAAAQAAAAIAAACUdJRijARoYWxmlGgEaAdLAIWUaAmHlFKUKEsBSwOFlGgOjAJmMpSJiIeUUpQoSwNoEk5OTkr/////Sv////9LAHSUYolDBgA4AMD/e5R0lGKMBWZsYWdzlGgEaAdLAIWUaAmHlFKUKEsBSwOFlGgOjAJiMZSJiIeUUpQoSwOMAXyUTk5OSv////9K/////0sAdJRiiUMDAQABlHSUYowbU3RydWN0dXJlZFRvUGFyYW1ldGVyTmFtZUBAlH2UaAGMB3BhcmFtXzCUc4wEc3RlcJRoAowGc2NhbGFylJOUaA6MAmk4lImIh5RSlChLA2gSTk5OSv////9K/////0sAdJRiQwgHAAAAAAAAAJSGlFKUdS4=';

  it('reads a protocol-4 numpy pickle: C/Fortran order, big-endian, half, bool', () => {
    const m = parseCheckpoint(Buffer.from(PROTOCOL4, 'base64'), 'p4.pdparams');
    expect([...m.keys()].sort()).toEqual(['big', 'flags', 'fortran', 'half', 'w']);
    expect(m.get('w')).toEqual({ dtype: 'float32', shape: [2, 3], data: Float32Array.from([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5]) });
    // np.asfortranarray(arange(6).reshape(2,3) * 0.5): row-major values 0, .5, 1, 1.5, 2, 2.5.
    expect(m.get('fortran')).toEqual({ dtype: 'float32', shape: [2, 3], data: Float32Array.from([0, 0.5, 1, 1.5, 2, 2.5]) });
    expect(m.get('big')).toEqual({ dtype: 'int64', shape: [4], data: BigInt64Array.from([-1n, 0n, 1n, 2n]) });
    expect(m.get('half')).toEqual({ dtype: 'float32', shape: [3], data: Float32Array.from([0.5, -2, 65504]) });
    expect(m.get('flags')).toEqual({ dtype: 'int64', shape: [3], data: BigInt64Array.from([1n, 0n, 1n]) });
  });

  it('reads state_dict.pth rewritten with ZIP64 records and deflated entries', () => {
    const src = readFileSync(join(FORMATS, 'state_dict.pth'));
    const zip = new ZipReader(src, 'state_dict.pth');
    const entries = [...zip.entries.values()].map((e) => ({ name: e.name, data: zip.read(e) }));
    for (const deflate of [false, true]) {
      const rewritten = writeZip64(entries, deflate);
      const m = parseCheckpoint(rewritten, 'zip64.pth');
      expect(m.size).toBe(15);
      for (const [name, e] of Object.entries(expected)) expectTensor(name, m.get(name), e);
    }
  });

  it('reads a legacy file with a view storage (view_metadata) and a Parameter', () => {
    const m = parseCheckpoint(legacyWithViews(), 'views.pth');
    // View '1' is elements 2..7 of root storage '0' (values 0..9); w is [2,3] over it.
    expect(m.get('w')).toEqual({ dtype: 'float32', shape: [2, 3], data: Float32Array.from([2, 3, 4, 5, 6, 7]) });
    // p = Parameter over the root storage, offset 4, stride 2.
    expect(m.get('p')).toEqual({ dtype: 'float32', shape: [3], data: Float32Array.from([4, 6, 8]) });
  });

  it('refuses a tensor that reaches past its storage', () => {
    const bytes = legacyWithViews();
    // Patch the parameter's stride 2 into 5: element 4 + 2*5 = 14 lies outside the 10-element storage.
    const at = Buffer.from(bytes).indexOf(Buffer.from([0x28, 0x4b, 2, 0x74]));
    expect(at).toBeGreaterThan(0);
    bytes[at + 2] = 5;
    expect(() => parseCheckpoint(bytes, 'views.pth')).toThrow(/reaches element 14 of a 10-element storage/);
  });

  it('names a missing file and an unknown format', async () => {
    await expect(loadCheckpoint('/nonexistent/zoo.pth')).rejects.toThrow(/weights file not found/);
    expect(() => parseCheckpoint(new TextEncoder().encode('<html>rate limited</html>'), 'x.pth')).toThrow(/unrecognised weights file format/);
  });

  it('explains a checkpoint with no state dict', () => {
    // {'epoch': 3}
    const p = Uint8Array.from([0x80, 2, 0x7d, 0x58, 5, 0, 0, 0, ...Buffer.from('epoch'), 0x4b, 3, 0x73, 0x2e]);
    expect(() => parseCheckpoint(p, 'ckpt.pth')).toThrow(/no state dict found .*epoch/);
  });
});

// Pickle opcodes, enough to write a small legacy torch file by hand.
const enc = new TextEncoder();
const u32le = (n: number) => [n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff, (n >>> 24) & 0xff];
const P = {
  str: (s: string) => [0x58, ...u32le(enc.encode(s).length), ...enc.encode(s)],
  int: (n: number) => [0x4b, n],
  global: (m: string, n: string) => [0x63, ...enc.encode(`${m}\n${n}\n`)],
  tuple: (...items: number[][]) => [0x28, ...items.flat(), 0x74],
  emptyOrderedDict: () => [...P.global('collections', 'OrderedDict'), 0x29, 0x52],
};

function legacyWithViews(): Uint8Array {
  const storage = (view: number[][] | null) =>
    P.tuple(P.str('storage'), P.global('torch', 'FloatStorage'), P.str('0'), P.str('cpu'), P.int(10), view ? P.tuple(...view) : [0x4e]);
  const tensor = (pid: number[], offset: number, shape: number[], stride: number[]) => [
    ...P.global('torch._utils', '_rebuild_tensor_v2'),
    ...P.tuple([...pid, 0x51], P.int(offset), P.tuple(...shape.map(P.int)), P.tuple(...stride.map(P.int)), [0x89], P.emptyOrderedDict()),
    0x52,
  ];
  const w = tensor(storage([P.str('1'), P.int(2), P.int(6)]), 0, [2, 3], [3, 1]);
  const param = [...P.global('torch._utils', '_rebuild_parameter'), ...P.tuple(tensor(storage(null), 4, [3], [2]), [0x88], P.emptyOrderedDict()), 0x52];
  const main = [0x80, 2, 0x7d, 0x28, ...P.str('w'), ...w, ...P.str('p'), ...param, 0x75, 0x2e];
  const keys = [0x80, 2, 0x5d, 0x28, ...P.str('0'), 0x65, 0x2e];
  const data = Buffer.alloc(8 + 40);
  data.writeBigInt64LE(10n, 0);
  for (let i = 0; i < 10; i++) data.writeFloatLE(i, 8 + 4 * i);
  const magic = [0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e];
  const protocol = [0x80, 2, 0x4d, 0xe9, 0x03, 0x2e];
  const sysInfo = [0x80, 2, 0x7d, 0x2e];
  return Uint8Array.from([...magic, ...protocol, ...sysInfo, ...main, ...keys, ...data]);
}

// A zip writer that uses ZIP64 for every size and offset (as writers do for files over 4 GiB).
function writeZip64(entries: { name: string; data: Uint8Array }[], deflate: boolean): Uint8Array {
  const parts: Uint8Array[] = [];
  const central: Uint8Array[] = [];
  let offset = 0;
  const le = (n: number, size: number) => {
    const b = Buffer.alloc(size);
    if (size === 8) b.writeBigUInt64LE(BigInt(n));
    else if (size === 4) b.writeUInt32LE(n >>> 0);
    else b.writeUInt16LE(n);
    return b;
  };
  for (const { name, data } of entries) {
    const body = deflate ? deflateRawSync(data) : data;
    const nameBytes = Buffer.from(name);
    const crc = crc32(data);
    const extraLocal = Buffer.concat([le(1, 2), le(16, 2), le(data.length, 8), le(body.length, 8)]);
    const local = Buffer.concat([
      le(0x04034b50, 4), le(45, 2), le(0, 2), le(deflate ? 8 : 0, 2), le(0, 2), le(0, 2), le(crc, 4),
      le(0xffffffff, 4), le(0xffffffff, 4), le(nameBytes.length, 2), le(extraLocal.length, 2), nameBytes, extraLocal,
    ]);
    const extraCentral = Buffer.concat([le(1, 2), le(24, 2), le(data.length, 8), le(body.length, 8), le(offset, 8)]);
    central.push(
      Buffer.concat([
        le(0x02014b50, 4), le(45, 2), le(45, 2), le(0, 2), le(deflate ? 8 : 0, 2), le(0, 2), le(0, 2), le(crc, 4),
        le(0xffffffff, 4), le(0xffffffff, 4), le(nameBytes.length, 2), le(extraCentral.length, 2), le(0, 2), le(0, 2),
        le(0, 2), le(0, 4), le(0xffffffff, 4), nameBytes, extraCentral,
      ]),
    );
    parts.push(local, body);
    offset += local.length + body.length;
  }
  const cd = Buffer.concat(central);
  const z64 = offset + cd.length;
  const z64Record = Buffer.concat([
    le(0x06064b50, 4), le(44, 8), le(45, 2), le(45, 2), le(0, 4), le(0, 4),
    le(entries.length, 8), le(entries.length, 8), le(cd.length, 8), le(offset, 8),
  ]);
  const locator = Buffer.concat([le(0x07064b50, 4), le(0, 4), le(z64, 8), le(1, 4)]);
  const eocd = Buffer.concat([
    le(0x06054b50, 4), le(0, 2), le(0, 2), le(0xffff, 2), le(0xffff, 2), le(0xffffffff, 4), le(0xffffffff, 4), le(0, 2),
  ]);
  return Buffer.concat([...parts, cd, z64Record, locator, eocd]);
}
