/**
 * Writes real checkpoint files from JS, so no test needs Python, numpy or torch: a protocol-2 pickle
 * emitter that follows CPython's pickler (memo, batching, opcode choice), and on top of it
 *
 * - writeTorchZip: `torch.save(state_dict, f)`'s zip layout, as PyTorchStreamWriter (miniz) lays it
 *   out: `<archive>/data.pkl`, `<archive>/data/<key>` (keys in string order), `<archive>/version`;
 *   stored entries with a data descriptor (flags 0x0808, zero local sizes), an "FB" extra field that
 *   aligns every entry's data to 64 bytes, ZIP64 end records; the archive name is the file's
 *   basename without its last extension. Compared with shared/golden/formats/state_dict.pth.
 * - writePdparams: `paddle.save(layer.state_dict(), f)` with numpy 1.x arrays: a dict of
 *   `numpy.core.multiarray._reconstruct` ndarrays (bytes through `_codecs.encode(str, 'latin1')`, as
 *   protocol 2 has no bytes opcode) plus the `StructuredToParameterName@@` name table. Compared with
 *   shared/golden/formats/paddle_style.pdparams (`pickletools.dis` of both read alike).
 *
 * Checked once by hand on a machine with them: torch 1.13's torch.save of what torch.load read from
 * our .pth (state dict and training checkpoint) gave the same bytes, and numpy 1.24's
 * pickle.dumps(pickle.load(our .pdparams), 2) too. The tests compare with the golden files instead.
 */
import { writeFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { crc32 } from 'node:zlib';
import type { HostTensor } from '../../src/models/graph.js';
import { endRecord, zip64EndRecords } from './zip-writer.js';

// ---- Python values -----------------------------------------------------------------------------------

export class PyTuple {
  constructor(readonly items: readonly PyVal[]) {}
}
export class PyList {
  constructor(readonly items: readonly PyVal[]) {}
}
/** dict, or collections.OrderedDict (pickled as a REDUCE); `attrs` is an OrderedDict's instance __dict__. */
export class PyDict {
  constructor(
    readonly entries: readonly (readonly [PyVal, PyVal])[],
    readonly ordered = false,
    readonly attrs: PyDict | null = null,
  ) {}
}
export class PyGlobal {
  constructor(
    readonly module: string,
    readonly name: string,
  ) {}
}
/** fn(*args), then BUILD with `state` when given: what `__reduce__` returns. */
export class PyReduce {
  constructor(
    readonly fn: PyGlobal,
    readonly args: PyTuple,
    readonly state: PyVal | undefined = undefined,
  ) {}
}
/** A Python bytes object (protocol 2 spells it `_codecs.encode(latin1 str, 'latin1')`). */
export class PyBytes {
  constructor(readonly data: Uint8Array) {}
}
/** An object the pickler saves by persistent id (torch's storages): the id, then BINPERSID. */
export class PyPersistent {
  constructor(readonly id: PyVal) {}
}
export class PyFloat {
  constructor(readonly value: number) {}
}

/** JS numbers are Python ints here (use PyFloat for a float); strings are str. */
export type PyVal = null | boolean | number | bigint | string | PyTuple | PyList | PyDict | PyGlobal | PyReduce | PyBytes | PyPersistent | PyFloat;

// ---- the pickler -----------------------------------------------------------------------------------------

/** pickle.py's _BATCHSIZE: SETITEMS/APPENDS carry at most this many items each. */
const BATCH = 1000;

class Writer {
  private readonly chunks: Buffer[] = [];
  private cur = Buffer.alloc(1 << 16);
  private len = 0;

  byte(...bs: number[]): void {
    for (const b of bs) {
      if (this.len === this.cur.length) this.flush();
      this.cur[this.len++] = b;
    }
  }
  u16(v: number): void {
    this.byte(v & 0xff, (v >>> 8) & 0xff);
  }
  u32(v: number): void {
    this.byte(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff);
  }
  i32(v: number): void {
    this.u32(v >>> 0);
  }
  raw(b: Uint8Array): void {
    this.flush();
    this.chunks.push(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
  }
  private flush(): void {
    if (this.len) this.chunks.push(Buffer.from(this.cur.subarray(0, this.len)));
    this.len = 0;
  }
  bytes(): Buffer {
    this.flush();
    return Buffer.concat(this.chunks);
  }
}

/** Little-endian two's complement, shortest form: pickle's encode_long (LONG1 payload). */
function encodeLong(x: bigint): number[] {
  if (x === 0n) return [];
  const out: number[] = [];
  let v = x;
  for (;;) {
    out.push(Number(v & 0xffn));
    v >>= 8n;
    const sign = out[out.length - 1]! & 0x80;
    if ((v === 0n && !sign) || (v === -1n && sign)) break;
  }
  return out;
}

/**
 * `pickle.dumps(value, protocol=2)` as CPython writes it. The memo follows CPython's by identity:
 * objects (tuples, dicts, reduces, bytes) are memoized per JS object, so one object saved twice is a
 * BINGET (share an instance to get that, as numpy shares its dtype); globals and short strings are
 * memoized by value, which matches CPython where such strings are interned or shared (dict keys,
 * 'cpu', 'latin1'); a bytes object's latin1 text is always a fresh string, as in CPython.
 */
export function pickle(value: PyVal): Buffer {
  const w = new Writer();
  const objMemo = new Map<object, number>();
  const valMemo = new Map<string, number>();
  let next = 0;
  const put = (): number => {
    const i = next++;
    if (i < 256) w.byte(0x71, i); // BINPUT
    else {
      w.byte(0x72); // LONG_BINPUT
      w.u32(i);
    }
    return i;
  };
  const get = (i: number): void => {
    if (i < 256) w.byte(0x68, i); // BINGET
    else {
      w.byte(0x6a); // LONG_BINGET
      w.u32(i);
    }
  };
  const memoObj = (o: object) => objMemo.set(o, put());

  const str = (s: string, fresh = false): void => {
    if (!fresh) {
      const m = valMemo.get(`s:${s}`);
      if (m !== undefined) return get(m);
    }
    const b = Buffer.from(s, 'utf8');
    w.byte(0x58); // BINUNICODE
    w.u32(b.length);
    w.raw(b);
    const i = put();
    if (!fresh) valMemo.set(`s:${s}`, i);
  };
  const global = (g: PyGlobal): void => {
    const key = `g:${g.module}\n${g.name}`;
    const m = valMemo.get(key);
    if (m !== undefined) return get(m);
    w.byte(0x63); // GLOBAL
    w.raw(Buffer.from(`${g.module}\n${g.name}\n`, 'latin1'));
    valMemo.set(key, put());
  };
  const int = (v: number | bigint): void => {
    const n = typeof v === 'bigint' ? v : BigInt(v);
    if (n >= 0n && n <= 0xffn) w.byte(0x4b, Number(n)); // BININT1
    else if (n >= 0n && n <= 0xffffn) {
      w.byte(0x4d); // BININT2
      w.u16(Number(n));
    } else if (n >= -0x80000000n && n <= 0x7fffffffn) {
      w.byte(0x4a); // BININT
      w.i32(Number(n));
    } else {
      const b = encodeLong(n);
      w.byte(0x8a, b.length, ...b); // LONG1
    }
  };
  const setItems = (entries: readonly (readonly [PyVal, PyVal])[]): void => {
    for (let at = 0; at < entries.length; at += BATCH) {
      const batch = entries.slice(at, at + BATCH);
      if (batch.length === 1) {
        save(batch[0]![0]);
        save(batch[0]![1]);
        w.byte(0x73); // SETITEM
      } else {
        w.byte(0x28); // MARK
        for (const [k, v] of batch) {
          save(k);
          save(v);
        }
        w.byte(0x75); // SETITEMS
      }
    }
  };
  const appends = (items: readonly PyVal[]): void => {
    for (let at = 0; at < items.length; at += BATCH) {
      const batch = items.slice(at, at + BATCH);
      if (batch.length === 1) {
        save(batch[0]!);
        w.byte(0x61); // APPEND
      } else {
        w.byte(0x28);
        for (const v of batch) save(v);
        w.byte(0x65); // APPENDS
      }
    }
  };
  const reduce = (fn: PyGlobal, args: PyTuple, obj: object, state?: PyVal): void => {
    global(fn);
    save(args);
    w.byte(0x52); // REDUCE
    memoObj(obj);
    if (obj instanceof PyDict) setItems(obj.entries);
    if (state !== undefined && state !== null) {
      save(state);
      w.byte(0x62); // BUILD
    }
  };

  function save(v: PyVal): void {
    if (v === null) return w.byte(0x4e); // NONE
    if (v === true) return w.byte(0x88); // NEWTRUE
    if (v === false) return w.byte(0x89); // NEWFALSE
    if (typeof v === 'number') {
      if (!Number.isSafeInteger(v)) throw new Error(`pickle: ${v} is not an integer (wrap floats in PyFloat)`);
      return int(v);
    }
    if (typeof v === 'bigint') return int(v);
    if (typeof v === 'string') return str(v);
    if (v instanceof PyGlobal) return global(v);
    const m = objMemo.get(v);
    if (m !== undefined) return get(m);
    if (v instanceof PyFloat) {
      const b = Buffer.alloc(8);
      b.writeDoubleBE(v.value);
      w.byte(0x47); // BINFLOAT
      return w.raw(b);
    }
    if (v instanceof PyTuple) {
      const n = v.items.length;
      if (n === 0) return w.byte(0x29); // EMPTY_TUPLE, never memoized
      if (n > 3) w.byte(0x28); // MARK
      for (const x of v.items) save(x);
      w.byte(n === 1 ? 0x85 : n === 2 ? 0x86 : n === 3 ? 0x87 : 0x74); // TUPLE1/2/3, TUPLE
      return void memoObj(v);
    }
    if (v instanceof PyList) {
      w.byte(0x5d); // EMPTY_LIST
      memoObj(v);
      return appends(v.items);
    }
    if (v instanceof PyDict) {
      if (v.ordered) return reduce(new PyGlobal('collections', 'OrderedDict'), new PyTuple([]), v, v.attrs);
      w.byte(0x7d); // EMPTY_DICT
      memoObj(v);
      return setItems(v.entries);
    }
    if (v instanceof PyReduce) return reduce(v.fn, v.args, v, v.state);
    if (v instanceof PyBytes) {
      if (v.data.length === 0) return reduce(new PyGlobal('__builtin__', 'bytes'), new PyTuple([]), v);
      global(new PyGlobal('_codecs', 'encode'));
      str(Buffer.from(v.data.buffer, v.data.byteOffset, v.data.byteLength).toString('latin1'), true);
      str('latin1');
      w.byte(0x86); // TUPLE2
      put();
      w.byte(0x52); // REDUCE
      return void memoObj(v);
    }
    if (v instanceof PyPersistent) {
      save(v.id);
      return w.byte(0x51); // BINPERSID
    }
    throw new Error('pickle: unsupported value');
  }

  w.byte(0x80, 2); // PROTO 2
  save(value);
  w.byte(0x2e); // STOP
  return w.bytes();
}

// ---- tensors -----------------------------------------------------------------------------------------------

function tensorBytes(t: HostTensor): Uint8Array {
  const n = t.shape.reduce((a, b) => a * b, 1);
  if (t.data.length !== n) throw new Error(`tensor of shape [${t.shape.join(', ')}] holds ${t.data.length} values`);
  // Typed arrays are host-endian; every machine this runs on is little-endian, as the files are.
  return new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
}

function contiguousStrides(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i]!;
  }
  return s;
}

// ---- torch.save zip layout ------------------------------------------------------------------------------

/** PyTorchStreamWriter's kFieldAlignment: every entry's data starts at a multiple of 64. */
const ALIGN = 64;

/** A zip archive as PyTorchStreamWriter (miniz) writes one: stored, aligned, data descriptors, ZIP64 end. */
export function torchZipArchive(entries: readonly (readonly [string, Uint8Array])[]): Buffer {
  const parts: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  const push = (b: Buffer) => {
    parts.push(b);
    offset += b.length;
  };
  for (const [name, data] of entries) {
    const nameBytes = Buffer.from(name, 'utf8');
    const crc = crc32(data);
    const headerAt = offset;
    // torch's getPadding: the "FB" extra field is always there, padded with 'Z' up to the alignment.
    const start = offset + 30 + nameBytes.length + 4;
    const pad = (ALIGN - (start % ALIGN)) % ALIGN;
    const extra = Buffer.alloc(4 + pad, 'Z');
    extra.write('FB', 0, 'latin1');
    extra.writeUInt16LE(pad, 2);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(0, 4); // version needed (miniz writes 0)
    local.writeUInt16LE(0x0808, 6); // data descriptor follows, UTF-8 names
    // method 0 (stored), time/date 0, crc and sizes 0 (they are in the data descriptor)
    local.writeUInt16LE(nameBytes.length, 26);
    local.writeUInt16LE(extra.length, 28);
    push(local);
    push(nameBytes);
    push(extra);
    push(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
    const desc = Buffer.alloc(16);
    desc.writeUInt32LE(0x08074b50, 0);
    desc.writeUInt32LE(crc, 4);
    desc.writeUInt32LE(data.length, 8);
    desc.writeUInt32LE(data.length, 12);
    push(desc);
    const cd = Buffer.alloc(46);
    cd.writeUInt32LE(0x02014b50, 0);
    cd.writeUInt16LE(0x0808, 8);
    cd.writeUInt32LE(crc, 16);
    cd.writeUInt32LE(data.length, 20);
    cd.writeUInt32LE(data.length, 24);
    cd.writeUInt16LE(nameBytes.length, 28);
    cd.writeUInt32LE(headerAt, 42);
    central.push(cd, nameBytes);
  }
  const cdOffset = offset;
  for (const b of central) push(b);
  const cdSize = offset - cdOffset;
  push(zip64EndRecords(entries.length, cdSize, cdOffset, offset, 0x031e)); // made by: Unix, 3.0 (as miniz writes it)
  push(endRecord(Math.min(entries.length, 0xffff), Math.min(cdSize, 0xffffffff), Math.min(cdOffset, 0xffffffff)));
  return Buffer.concat(parts);
}

const TORCH_STORAGE: Record<HostTensor['dtype'], string> = { float32: 'FloatStorage', int64: 'LongStorage' };

/**
 * A state dict's tensors as torch pickles them: `_rebuild_tensor_v2(storage pid, offset, size,
 * stride, False, OrderedDict())`, one storage per tensor (keys '0', '1', ... in order), with the
 * storages' bytes in `storages`.
 */
export function torchStateDict(
  state: ReadonlyMap<string, HostTensor>,
  storages: Map<string, Uint8Array>,
  { namePrefix = '', metadata = true }: { namePrefix?: string; metadata?: boolean } = {},
): PyDict {
  const rebuild = new PyGlobal('torch._utils', '_rebuild_tensor_v2');
  const entries: [PyVal, PyVal][] = [];
  for (const [name, t] of state) {
    const key = String(storages.size);
    const bytes = tensorBytes(t);
    storages.set(key, bytes);
    const pid = new PyTuple(['storage', new PyGlobal('torch', TORCH_STORAGE[t.dtype]), key, 'cpu', t.data.length]);
    const args = new PyTuple([
      new PyPersistent(pid),
      0,
      new PyTuple([...t.shape]),
      new PyTuple(contiguousStrides(t.shape)),
      false,
      new PyDict([], true),
    ]);
    entries.push([namePrefix + name, new PyReduce(rebuild, args)]);
  }
  const names = [...state.keys()].map((n) => namePrefix + n);
  return new PyDict(entries, true, metadata ? stateDictMetadata(names) : null);
}

/**
 * `state_dict()._metadata`: an OrderedDict of every module path ('' for the root) to
 * {'version': v}; BatchNorm's _version is 2, the rest 1 here. Real files carry it; readers skip it.
 */
function stateDictMetadata(names: readonly string[]): PyDict {
  const modules = new Map<string, number>([['', 1]]);
  for (const n of names) {
    const parts = n.split('.');
    for (let i = 1; i < parts.length; i++) {
      const m = parts.slice(0, i).join('.');
      if (!modules.has(m)) modules.set(m, 1);
    }
  }
  for (const n of names) if (n.endsWith('.running_mean')) modules.set(n.slice(0, -'.running_mean'.length), 2);
  const meta = new PyDict(
    [...modules].map(([m, v]) => [m, new PyDict([['version', v]])] as const),
    true,
  );
  return new PyDict([['_metadata', meta]]);
}

/** torch's archive name: the file's basename without its last extension (torch 1.13: a.pth.tar -> a.pth). */
export function torchArchiveName(file: string): string {
  const name = basename(file);
  const dot = name.lastIndexOf('.');
  return (dot > 0 ? name.slice(0, dot) : name) || 'archive';
}

export interface TorchSaveOptions {
  /**
   * Save a training checkpoint instead of a bare state dict: {'epoch': epoch, 'arch': arch,
   * 'state_dict': {<prefix>name: tensor}, 'optimizer': {}} as timm/the ImageNet example save it.
   */
  training?: { epoch: number; arch: string; prefix?: string };
}

/** `torch.save(obj, file)` of a state dict (or a training checkpoint around it), zip layout. */
export function torchSaveBytes(state: ReadonlyMap<string, HostTensor>, file: string, opts: TorchSaveOptions = {}): Buffer {
  const storages = new Map<string, Uint8Array>();
  let root: PyDict;
  if (opts.training) {
    const sd = torchStateDict(state, storages, { namePrefix: opts.training.prefix ?? '' });
    root = new PyDict([
      ['epoch', opts.training.epoch],
      ['arch', opts.training.arch],
      ['state_dict', sd],
      ['optimizer', new PyDict([['state', new PyDict([])], ['param_groups', new PyList([])]])],
      ['best_acc1', new PyFloat(0)],
    ]);
  } else root = torchStateDict(state, storages);
  const archive = torchArchiveName(file);
  const keys = [...storages.keys()].sort(); // torch writes data/<key> in string order
  return torchZipArchive([
    [`${archive}/data.pkl`, pickle(root)],
    ...keys.map((k) => [`${archive}/data/${k}`, storages.get(k)!] as const),
    [`${archive}/version`, Buffer.from('3\n')],
  ]);
}

export async function writeTorchZip(state: ReadonlyMap<string, HostTensor>, file: string, opts: TorchSaveOptions = {}): Promise<string> {
  await writeFile(file, torchSaveBytes(state, file, opts));
  return file;
}

// ---- paddle.save with numpy 1.x arrays ----------------------------------------------------------------

/** numpy.dtype(descr, False, True) with its BUILD state, as ndarray.__reduce__ pickles it. */
function npDtype(descr: string): PyReduce {
  return new PyReduce(new PyGlobal('numpy', 'dtype'), new PyTuple([descr, false, true]), new PyTuple([3, '<', null, null, null, -1, -1, 0]));
}

/** Paddle's name table key: structured (state_dict) name -> the parameter's program name. */
export const PADDLE_NAME_TABLE = 'StructuredToParameterName@@';

/** The bytes of `paddle.save(state_dict, file)` (protocol 2) with every tensor a numpy 1.x ndarray. */
export function pdparamsBytes(state: ReadonlyMap<string, HostTensor>): Buffer {
  // numpy shares these objects between arrays, so the pickle refers back to them (BINGET).
  const dtypes: Record<HostTensor['dtype'], PyReduce> = { float32: npDtype('f4'), int64: npDtype('i8') };
  const reconstruct = new PyGlobal('numpy.core.multiarray', '_reconstruct');
  const ndarray = new PyGlobal('numpy', 'ndarray');
  const b = new PyBytes(Buffer.from('b'));
  const entries: [PyVal, PyVal][] = [];
  const table: [PyVal, PyVal][] = [];
  for (const [name, t] of state) {
    const arrayState = new PyTuple([1, new PyTuple([...t.shape]), dtypes[t.dtype], false, new PyBytes(tensorBytes(t))]);
    entries.push([name, new PyReduce(reconstruct, new PyTuple([ndarray, new PyTuple([0]), b]), arrayState)]);
    table.push([name, `param_${table.length}`]);
  }
  entries.push([PADDLE_NAME_TABLE, new PyDict(table)]);
  return pickle(new PyDict(entries));
}

export async function writePdparams(state: ReadonlyMap<string, HostTensor>, file: string): Promise<string> {
  await writeFile(file, pdparamsBytes(state));
  return file;
}
