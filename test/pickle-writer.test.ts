/**
 * The test-side checkpoint writers (test/support/pickle-writer.ts) produce what torch.save and
 * paddle.save produce: compared with the golden files (shared/golden/formats) byte for byte where the
 * content allows, structurally where it does not, and read back exactly by loadCheckpoint.
 */
import { readFileSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HostTensor } from '../src/models/graph.js';
import { loadCheckpoint, parseCheckpoint } from '../src/models/weights/index.js';
import { ZipReader } from '../src/models/weights/zip.js';
import { tempDir } from './support/cli.js';
import { SHARED } from './support/golden.js';
import {
  pdparamsBytes,
  pickle,
  PyBytes,
  PyDict,
  PyFloat,
  PyList,
  PyTuple,
  torchSaveBytes,
  torchStateDict,
  writePdparams,
  writeTorchZip,
} from './support/pickle-writer.js';

const FORMATS = join(SHARED, 'golden', 'formats');

/** Random-ish tensors of every kind the writers take: 0-d, 1-d, 4-d, int64 with big values. */
function sample(): Map<string, HostTensor> {
  const f = (shape: number[], seed: number): HostTensor => {
    const n = shape.reduce((a, b) => a * b, 1);
    return { dtype: 'float32', shape, data: Float32Array.from({ length: n }, (_, i) => Math.sin(seed * 7.1 + i * 1.3) * 10 ** ((i % 7) - 3)) };
  };
  return new Map<string, HostTensor>([
    ['conv.weight', f([8, 3, 3, 3], 1)],
    ['bn.weight', f([8], 2)],
    ['bn.running_mean', f([8], 3)],
    ['bn.num_batches_tracked', { dtype: 'int64', shape: [], data: BigInt64Array.from([123456789012n]) }],
    ['blocks.0.index', { dtype: 'int64', shape: [5], data: BigInt64Array.from([0n, 4n, -1n, 2n ** 40n, 3n]) }],
    ['scalar', f([], 4)],
    // Over 256 memo slots and a storage key past '9' (string order of data/<key> differs from numeric).
    ...Array.from({ length: 300 }, (_, i): [string, HostTensor] => [`head.${i}.bias`, f([3], i + 5)]),
  ]);
}

function expectSameTensors(got: Map<string, HostTensor>, want: ReadonlyMap<string, HostTensor>): void {
  expect([...got.keys()]).toEqual([...want.keys()]);
  for (const [k, t] of want) {
    const g = got.get(k)!;
    expect(g.dtype, k).toBe(t.dtype);
    expect(g.shape, k).toEqual(t.shape);
    expect(Buffer.from(g.data.buffer, g.data.byteOffset, g.data.byteLength).equals(Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength)), k).toBe(true);
  }
}

/** What a zip's local records look like, minus names, sizes and CRCs: the writer's fingerprint. */
function zipLayout(buf: Buffer): string[] {
  const out: string[] = [];
  const zip = new ZipReader(buf, 'x');
  for (const e of zip.entries.values()) {
    const at = e.headerOffset;
    const nameLen = buf.readUInt16LE(at + 26);
    const extraLen = buf.readUInt16LE(at + 28);
    const dataAt = at + 30 + nameLen + extraLen;
    const extra = buf.subarray(at + 30 + nameLen, dataAt);
    const desc = dataAt + e.compressedSize;
    out.push(
      [
        `version ${buf.readUInt16LE(at + 4)} flags ${buf.readUInt16LE(at + 6).toString(16)} method ${e.method}`,
        `time ${buf.readUInt32LE(at + 10)} local crc/sizes ${buf.readUInt32LE(at + 14)}/${buf.readUInt32LE(at + 18)}/${buf.readUInt32LE(at + 22)}`,
        `extra ${extra.subarray(0, 2).toString('latin1')} pad ${extra.readUInt16LE(2) === extra.length - 4} ${/^Z*$/.test(extra.subarray(4).toString('latin1'))}`,
        `aligned ${dataAt % 64 === 0}`,
        `descriptor ${buf.readUInt32LE(desc).toString(16)} crc ok ${buf.readUInt32LE(desc + 4) === crc32(buf.subarray(dataAt, desc))}`,
        `entry ${e.name.replace(/^[^/]+\//, '').replace(/data\/\d+$/, 'data/N')}`,
      ].join(', '),
    );
  }
  out.push(`zip64 eocd ${buf.includes(Buffer.from([0x50, 0x4b, 6, 6]))} locator ${buf.includes(Buffer.from([0x50, 0x4b, 6, 7]))}`);
  return [...new Set(out)];
}

describe('pickle (protocol 2, as CPython writes it)', () => {
  it('reproduces the golden paddle_style.pdparams byte for byte from the tensors it holds', async () => {
    const golden = readFileSync(join(FORMATS, 'paddle_style.pdparams'));
    const tensors = await loadCheckpoint(join(FORMATS, 'paddle_style.pdparams'));
    expect(tensors.size).toBe(11);
    expect(pdparamsBytes(tensors).equals(golden)).toBe(true);
  });

  it("reproduces the golden state_dict.pth's data.pkl byte for byte over its plain tensors", async () => {
    const zip = readFileSync(join(FORMATS, 'state_dict.pth'));
    const reader = new ZipReader(zip, 'state_dict.pth');
    const goldenPkl = Buffer.from(reader.read(reader.entries.get('state_dict/data.pkl')!));
    // The first six entries are plain contiguous float32/int64 tensors, storages '0'..'5'.
    const all = await loadCheckpoint(join(FORMATS, 'state_dict.pth'));
    const first = new Map([...all].slice(0, 6));
    expect([...first.keys()].at(-1)).toBe('bn.num_batches_tracked');
    const ours = pickle(torchStateDict(first, new Map(), { metadata: false }));
    // Ours ends after six entries (SETITEMS, STOP); the golden goes on with 'half.weight'.
    const cut = goldenPkl.indexOf(Buffer.concat([Buffer.from([0x58, 11, 0, 0, 0]), Buffer.from('half.weight')]));
    expect(cut).toBeGreaterThan(0);
    expect(ours.subarray(0, cut).equals(goldenPkl.subarray(0, cut))).toBe(true);
    expect([...ours.subarray(cut)]).toEqual([0x75, 0x2e]);
  });

  it('writes ints, floats, bytes, lists, nested dicts and long memo indices the way pickle reads them', () => {
    const shared = new PyTuple([1, 2]);
    const value = new PyDict([
      ['ints', new PyTuple([0, 255, 256, 65535, 65536, -1, -(2 ** 31), 2 ** 31, 2 ** 40, -(2 ** 40), 2n ** 70n])],
      ['float', new PyFloat(-2.5)],
      ['bytes', new PyBytes(Uint8Array.from([0, 0x7f, 0x80, 0xff]))],
      ['list', new PyList(Array.from({ length: 1001 }, (_, i) => `s${i}`))],
      ['again', shared],
      ['twice', shared],
    ]);
    const bytes = pickle(value);
    expect([...bytes.subarray(0, 3)]).toEqual([0x80, 2, 0x7d]);
    // The reader is a strict one: it accepts exactly the opcodes written here and rebuilds the values.
    // (Read through parseCheckpoint's pickle path: a dict without tensors is refused by name, after parsing.)
    expect(() => parseCheckpoint(bytes, 'values.pkl')).toThrow(/no state dict found.*ints, float, bytes, list, again, twice/);
  });
});

describe('writeTorchZip / writePdparams round trip through loadCheckpoint', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await tempDir('zoo-pickle-writer-');
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('a state dict in torch.save zip layout reads back exactly, laid out as the golden .pth is', async () => {
    const state = sample();
    const file = await writeTorchZip(state, join(dir, 'model.best.pth'));
    expectSameTensors(await loadCheckpoint(file), state);
    const buf = await readFile(file);
    const names = [...new ZipReader(buf, file).entries.keys()];
    expect(names[0]).toBe('model.best/data.pkl');
    expect(names.at(-1)).toBe('model.best/version');
    expect(names.slice(1, 4)).toEqual(['model.best/data/0', 'model.best/data/1', 'model.best/data/10']);
    expect(names).toHaveLength(state.size + 2);
    expect(zipLayout(buf)).toEqual(zipLayout(readFileSync(join(FORMATS, 'state_dict.pth'))));
  });

  it('a training checkpoint (epoch, module.-prefixed state_dict, optimizer) reads back without the prefix', async () => {
    const state = sample();
    const file = join(dir, 'checkpoint.pth.tar');
    await writeTorchZip(state, file, { training: { epoch: 90, arch: 'resnext50_32x4d', prefix: 'module.' } });
    expect((await readFile(file)).includes('checkpoint.pth/data.pkl')).toBe(true);
    expectSameTensors(await loadCheckpoint(file), state);
  });

  it('a .pdparams of numpy arrays reads back exactly, the name table left out', async () => {
    const state = sample();
    const file = await writePdparams(state, join(dir, 'model.pdparams'));
    const bytes = await readFile(file);
    expect(bytes.includes('cnumpy.core.multiarray\n_reconstruct\n')).toBe(true);
    expect(bytes.includes('StructuredToParameterName@@')).toBe(true);
    expectSameTensors(await loadCheckpoint(file), state);
  });

  it('entries are stored: a storage entry is the raw little-endian tensor', async () => {
    const state = new Map([['w', { dtype: 'float32', shape: [2], data: Float32Array.from([1, 2]) } satisfies HostTensor]]);
    const buf = torchSaveBytes(state, 'w.pth');
    const zip = new ZipReader(buf, 'w.pth');
    const e = zip.entries.get('w/data/0')!;
    expect(e.method).toBe(0);
    expect([...zip.read(e)]).toEqual([...new Uint8Array(Float32Array.from([1, 2]).buffer)]);
  });
});
