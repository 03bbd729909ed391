/**
 * A restricted unpickler for checkpoint files (PyTorch `.pth`, Paddle `.pdparams`).
 *
 * Python's pickle is a small stack machine whose GLOBAL/REDUCE opcodes import and call arbitrary
 * functions: loading an untrusted checkpoint with it runs code. This reader never calls anything.
 * It knows a short allow-list of globals a checkpoint needs and builds plain data for each
 * (a tensor reference, an ndarray, a dict); any other global is refused by name, before the
 * pickle is interpreted any further. Only the binary opcodes of protocols 2-5 that such files use
 * are implemented; the text opcodes of protocol 0 and the object-building INST/OBJ/EXT opcodes
 * are refused.
 *
 * Resource bounds: every length read from the file is checked against the bytes that remain
 * before anything is allocated for it, every opcode consumes at least one byte (so the work is
 * linear in the file size and cannot loop), the stack and memo are capped, and big integers are
 * capped in size, and containers nest at most MAX_NESTING deep (a deeper structure would overflow
 * the stack of any code that walks it, String() in an error message included; describePy is the
 * bounded way to name a value). Nothing here allocates tensor data: tensors stay references (storage key,
 * offset, shape, strides) until the caller materialises the ones it needs.
 */
import { WeightsError } from '../../errors.js';

// ---------------------------------------------------------------------------------------------
// Values the unpickler produces.

/** A Python tuple: a frozen array, so APPEND onto one is caught. */
export type PyTuple = readonly PyValue[];

export type PyValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | PyValue[]
  | PyTuple
  | PyDict
  | PyGlobal
  | PyObject
  | TorchTensorRef
  | TorchStorageRef
  | NdArrayRef
  | NpDtype;

/** dict / collections.OrderedDict. Keys are compared like Python's for str/int/bool/None. */
export class PyDict {
  readonly map = new Map<PyValue, PyValue>();
  /** State set by BUILD (OrderedDict's `_metadata`); kept, never interpreted. */
  attrs: PyValue = null;
}

/** An allowed global: a marker the unpickler recognises when it is called or used as a class. */
export class PyGlobal {
  constructor(
    readonly module: string,
    readonly name: string,
  ) {}
  get qualified(): string {
    return `${this.module}.${this.name}`;
  }
}

/** An inert data holder (argparse.Namespace): its BUILD state is stored, nothing is run. */
export class PyObject {
  state: PyValue = null;
  constructor(readonly className: string) {}
}

/** torch storage element types by their pickled class name. */
export const TORCH_STORAGE_DTYPES: Readonly<Record<string, string>> = {
  FloatStorage: 'F32',
  DoubleStorage: 'F64',
  HalfStorage: 'F16',
  BFloat16Storage: 'BF16',
  LongStorage: 'I64',
  IntStorage: 'I32',
  ShortStorage: 'I16',
  CharStorage: 'I8',
  ByteStorage: 'U8',
  BoolStorage: 'BOOL',
};

/** A storage as named by a persistent id; the container supplies its bytes. */
export class TorchStorageRef {
  constructor(
    /** Element type as a safetensors dtype name (F32, F16, I64, ...). */
    readonly dtype: string,
    /** Key of the root storage in the container (zip entry data/<key>, legacy key list). */
    readonly key: string,
    /** Elements in this storage (a view of a root storage for legacy view_metadata). */
    readonly numel: number,
    /** Element offset of this (view) storage inside its root storage. */
    readonly rootOffset = 0,
  ) {}
}

/** torch._utils._rebuild_tensor_v2(storage, storage_offset, size, stride, ...), not yet read. */
export class TorchTensorRef {
  constructor(
    readonly storage: TorchStorageRef,
    readonly offset: number,
    readonly shape: readonly number[],
    readonly stride: readonly number[],
  ) {}
}

/** numpy.dtype(...) with the byte order its BUILD state gives. */
export class NpDtype {
  byteorder = '=';
  constructor(readonly descr: string) {}
}

/** numpy.ndarray: created empty by _reconstruct, filled by BUILD (version, shape, dtype, fortran, raw). */
export class NdArrayRef {
  shape: readonly number[] = [];
  dtype: NpDtype | null = null;
  fortran = false;
  data: Uint8Array | null = null;
}

export interface UnpickleOptions {
  /** Name of the file, for errors. */
  file: string;
  /** Resolves a BINPERSID id (torch storages). Without it a persistent id is an error. */
  persistentLoad?: (pid: PyValue) => PyValue;
}

// ---------------------------------------------------------------------------------------------
// Limits. Generous for real checkpoints, small enough that a hostile file cannot exhaust memory.

/** Stack depth; each opcode pushes at most one item, so this only bounds pathological files. */
const MAX_STACK = 1 << 20;
/** Distinct memo slots. */
const MAX_MEMO = 1 << 20;
/** Bytes of a LONG1/LONG4 integer (torch's legacy magic number takes 10). */
const MAX_LONG_BYTES = 64;
/** Characters of a GLOBAL module or name line. */
const MAX_GLOBAL_LINE = 256;
/** Dimensions of a tensor or array. */
const MAX_RANK = 32;
/** Containers inside containers; real checkpoints (optimizer state, argparse args) nest a handful. */
export const MAX_NESTING = 100;

/**
 * A short, bounded rendering of a value for error messages: never recurses more than two levels,
 * never longer than ~60 characters, whatever the pickle built (deep, wide or cyclic).
 */
export function describePy(v: PyValue | undefined, depth = 2): string {
  let s: string;
  if (v === undefined) s = 'nothing';
  else if (v === null) s = 'None';
  else if (typeof v === 'string') s = v.length > 40 ? `${v.slice(0, 40)}...` : v;
  else if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') s = String(v);
  else if (v instanceof Uint8Array) s = `bytes(${v.length})`;
  else if (Array.isArray(v)) {
    const items = depth > 0 ? (v as PyValue[]).slice(0, 3).map((x) => describePy(x, depth - 1)) : ['...'];
    if (depth > 0 && v.length > 3) items.push('...');
    s = Object.isFrozen(v) ? `(${items.join(', ')})` : `[${items.join(', ')}]`;
  } else if (v instanceof PyDict) s = `dict(${v.map.size} items)`;
  else if (v instanceof PyGlobal) s = v.qualified;
  else if (v instanceof PyObject) s = v.className;
  else s = v.constructor.name;
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

// ---------------------------------------------------------------------------------------------
// The allow-list. Each entry says what calling the global (REDUCE) or instantiating it (NEWOBJ)
// builds, as plain data. Anything else is refused with its name.

type Builder = (args: PyTuple, ctx: Context) => PyValue;
interface GlobalRule {
  /** REDUCE: global(*args). Absent: the global may only be referenced (a class marker). */
  call?: Builder;
  /** NEWOBJ: cls.__new__(cls, *args). */
  newobj?: Builder;
}

interface Context {
  fail(what: string, fix?: string): WeightsError;
}

function rebuildTensor(args: PyTuple, ctx: Context): TorchTensorRef {
  const [storage, offset, size, stride] = args;
  if (!(storage instanceof TorchStorageRef)) throw ctx.fail('_rebuild_tensor_v2 without a storage');
  const shape = intList(size, ctx, 'tensor size');
  const strides = intList(stride, ctx, 'tensor stride');
  if (typeof offset !== 'number' || !Number.isSafeInteger(offset) || offset < 0) throw ctx.fail('bad tensor storage offset');
  if (shape.length !== strides.length) throw ctx.fail(`tensor size ${shape.length}-d but stride ${strides.length}-d`);
  return new TorchTensorRef(storage, offset, shape, strides);
}

function firstTensor(args: PyTuple, ctx: Context, what: string): PyValue {
  const t = args[0];
  if (!(t instanceof TorchTensorRef)) throw ctx.fail(`${what} of something that is not a tensor`);
  return t;
}

function reconstructNdArray(args: PyTuple, ctx: Context): NdArrayRef {
  const cls = args[0];
  if (!(cls instanceof PyGlobal) || cls.qualified !== 'numpy.ndarray') throw ctx.fail('numpy _reconstruct of a class other than numpy.ndarray');
  return new NdArrayRef();
}

function numpyDtype(args: PyTuple, ctx: Context): NpDtype {
  const descr = args[0];
  if (typeof descr !== 'string' || !/^[<>|=]?[a-zA-Z]\d*$/.test(descr)) throw ctx.fail('numpy.dtype with a bad type string');
  return new NpDtype(descr);
}

/** numpy.core.multiarray.scalar(dtype, bytes): one value of a numpy scalar (a metric in a checkpoint). */
function numpyScalar(args: PyTuple, ctx: Context): PyValue {
  const [dtype, raw] = args;
  if (!(dtype instanceof NpDtype)) throw ctx.fail('numpy scalar without a dtype');
  const bytes = typeof raw === 'string' ? latin1(raw, ctx) : raw;
  if (!(bytes instanceof Uint8Array)) throw ctx.fail('numpy scalar without its bytes');
  const le = dtype.byteorder !== '>';
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const kind = dtype.descr.replace(/^[<>|=]/, '');
  const need: Record<string, number> = { f8: 8, f4: 4, i8: 8, i4: 4, u1: 1, b1: 1 };
  if (need[kind] === undefined) return null; // Some other scalar type: inert, never needed for weights.
  if (bytes.length !== need[kind]) throw ctx.fail(`numpy ${kind} scalar with ${bytes.length} bytes`);
  switch (kind) {
    case 'f8':
      return v.getFloat64(0, le);
    case 'f4':
      return v.getFloat32(0, le);
    case 'i8': {
      const b = v.getBigInt64(0, le);
      return b >= BigInt(Number.MIN_SAFE_INTEGER) && b <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(b) : b;
    }
    case 'i4':
      return v.getInt32(0, le);
    case 'b1':
      return v.getUint8(0) !== 0;
    default:
      return v.getUint8(0);
  }
}

function codecsEncode(args: PyTuple, ctx: Context): Uint8Array {
  const [s, enc] = args;
  if (typeof s !== 'string' || (enc !== 'latin1' && enc !== 'latin-1')) throw ctx.fail('_codecs.encode other than (str, "latin1")');
  return latin1(s, ctx);
}

function orderedDict(args: PyTuple, ctx: Context): PyDict {
  const d = new PyDict();
  if (args.length === 0) return d;
  // OrderedDict([(k, v), ...]), as protocol-0/1 writers produce.
  const items = args[0];
  if (!Array.isArray(items)) throw ctx.fail('OrderedDict of something that is not a list');
  for (const pair of items as PyValue[]) {
    if (!Array.isArray(pair) || pair.length !== 2) throw ctx.fail('OrderedDict item that is not a pair');
    d.map.set(pair[0] as PyValue, pair[1] as PyValue);
  }
  return d;
}

function setOf(args: PyTuple): PyValue {
  const items = args[0];
  return Object.freeze(Array.isArray(items) ? [...(items as PyValue[])] : []);
}

const GLOBALS: ReadonlyMap<string, GlobalRule> = new Map<string, GlobalRule>([
  ['collections.OrderedDict', { call: orderedDict, newobj: () => new PyDict() }],
  ['torch._utils._rebuild_tensor_v2', { call: rebuildTensor }],
  ['torch._utils._rebuild_tensor', { call: rebuildTensor }],
  ['torch._utils._rebuild_parameter', { call: (a, c) => firstTensor(a, c, '_rebuild_parameter') }],
  ['torch._utils._rebuild_parameter_with_state', { call: (a, c) => firstTensor(a, c, '_rebuild_parameter_with_state') }],
  // torch 2.x pickles tensor subclasses through this; only plain Tensor/Parameter are accepted.
  [
    'torch._tensor._rebuild_from_type_v2',
    {
      call: (args, ctx) => {
        const [fn, cls, fnArgs] = args;
        const ok = ['torch.Tensor', 'torch.nn.parameter.Parameter'];
        if (!(cls instanceof PyGlobal) || !ok.includes(cls.qualified)) throw ctx.fail('_rebuild_from_type_v2 of a tensor subclass');
        if (!(fn instanceof PyGlobal) || !Array.isArray(fnArgs)) throw ctx.fail('bad _rebuild_from_type_v2 arguments');
        const rule = GLOBALS.get(fn.qualified);
        if (!rule?.call) throw ctx.fail(`_rebuild_from_type_v2 calling ${fn.qualified}`);
        return rule.call(fnArgs as PyTuple, ctx);
      },
    },
  ],
  ['torch.Tensor', {}],
  ['torch.nn.parameter.Parameter', {}],
  ['torch.Size', { call: (a, c) => Object.freeze(intList(a[0] ?? [], c, 'torch.Size')) }],
  ...Object.keys(TORCH_STORAGE_DTYPES).map((n): [string, GlobalRule] => [`torch.${n}`, {}]),
  ['numpy.ndarray', {}],
  ['numpy.core.multiarray._reconstruct', { call: reconstructNdArray }],
  ['numpy._core.multiarray._reconstruct', { call: reconstructNdArray }],
  ['numpy.dtype', { call: numpyDtype }],
  ['numpy.core.multiarray.scalar', { call: numpyScalar }],
  ['numpy._core.multiarray.scalar', { call: numpyScalar }],
  ['_codecs.encode', { call: codecsEncode }],
  // Training checkpoints (timm's CheckpointSaver) store the run's arguments; kept as inert data.
  ['argparse.Namespace', { newobj: () => new PyObject('argparse.Namespace'), call: () => new PyObject('argparse.Namespace') }],
  ['builtins.set', { call: setOf }],
  ['builtins.frozenset', { call: setOf }],
]);

// ---------------------------------------------------------------------------------------------

function intList(v: PyValue, ctx: Context, what: string): number[] {
  if (!Array.isArray(v)) throw ctx.fail(`${what} is not a tuple`);
  if (v.length > MAX_RANK) throw ctx.fail(`${what} has ${v.length} dimensions`);
  return (v as PyValue[]).map((d) => {
    if (typeof d !== 'number' || !Number.isSafeInteger(d)) throw ctx.fail(`${what} has a non-integer entry`);
    return d;
  });
}

function latin1(s: string, ctx: Context): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 255) throw ctx.fail('latin1 bytes with a character above U+00FF');
    out[i] = c;
  }
  return out;
}

const MARK = Symbol('mark');
type StackItem = PyValue | typeof MARK;

const utf8 = new TextDecoder('utf-8');

/**
 * Unpickles one pickle starting at `start`; returns the value and the offset after STOP
 * (the legacy torch layout is several pickles back to back, then raw storages).
 */
export function unpickle(buf: Uint8Array, start: number, opts: UnpickleOptions): { value: PyValue; end: number } {
  const { file } = opts;
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let pos = start;
  const fail = (what: string, fix = 'the file is damaged or not a checkpoint; download it again'): WeightsError =>
    new WeightsError(`cannot read pickle: ${what} (at byte ${pos})`, { file, fix });
  const ctx: Context = { fail };
  const stack: StackItem[] = [];
  const marks: number[] = [];
  const memo = new Map<number, PyValue>();
  /** How deep each container built so far nests (absent: 1). Raised as items go into it. */
  const nesting = new WeakMap<object, number>();
  const depthOf = (v: PyValue): number => (typeof v === 'object' && v !== null ? (nesting.get(v) ?? 1) : 0);
  /** `container` now holds `items`: its depth is at least one more than theirs. */
  const holds = <T extends PyValue>(container: T, items: readonly PyValue[]): T => {
    if (typeof container !== 'object' || container === null) return container; // a builder's scalar
    let d = depthOf(container);
    for (const it of items) d = Math.max(d, depthOf(it) + 1);
    if (d > MAX_NESTING) throw fail(`containers nested more than ${MAX_NESTING} deep`);
    if (d > 1) nesting.set(container as object, d);
    return container;
  };

  const need = (n: number) => {
    if (n < 0 || pos + n > buf.length) throw fail(`needs ${n} more bytes, the file ends first`);
  };
  const u8 = () => {
    need(1);
    return buf[pos++]!;
  };
  const u16 = () => {
    need(2);
    pos += 2;
    return view.getUint16(pos - 2, true);
  };
  const u32 = () => {
    need(4);
    pos += 4;
    return view.getUint32(pos - 4, true);
  };
  const u64 = () => {
    need(8);
    pos += 8;
    const v = view.getBigUint64(pos - 8, true);
    if (v > BigInt(buf.length)) throw fail(`length ${v} exceeds the file`);
    return Number(v);
  };
  const bytes = (n: number) => {
    need(n);
    pos += n;
    return buf.subarray(pos - n, pos);
  };
  const line = () => {
    const end = buf.indexOf(0x0a, pos);
    if (end < 0 || end - pos > MAX_GLOBAL_LINE) throw fail('GLOBAL name line missing or too long');
    const s = new TextDecoder('latin1').decode(buf.subarray(pos, end));
    pos = end + 1;
    return s;
  };
  const push = (v: PyValue) => {
    if (stack.length >= MAX_STACK) throw fail('pickle stack too deep');
    stack.push(v);
  };
  const pop = (): PyValue => {
    if (stack.length === 0 || (marks.length > 0 && stack.length <= marks[marks.length - 1]!)) throw fail('pickle stack underflow');
    return stack.pop() as PyValue;
  };
  const top = (): PyValue => {
    if (stack.length === 0 || (marks.length > 0 && stack.length <= marks[marks.length - 1]!)) throw fail('pickle stack underflow');
    return stack[stack.length - 1] as PyValue;
  };
  const popMark = (): PyValue[] => {
    const m = marks.pop();
    if (m === undefined) throw fail('MARK expected');
    return stack.splice(m) as PyValue[];
  };
  const memoPut = (i: number) => {
    if (!memo.has(i) && memo.size >= MAX_MEMO) throw fail('pickle memo too large');
    memo.set(i, top());
  };
  const memoGet = (i: number) => {
    if (!memo.has(i)) throw fail(`memo slot ${i} read before written`);
    push(memo.get(i)!);
  };
  const global = (module: string, name: string): PyGlobal => {
    const qualified = `${module}.${name}`;
    if (!GLOBALS.has(qualified)) {
      throw new WeightsError(`refused to load: the pickle references the forbidden global ${qualified}`, {
        file,
        expected: 'only tensors, storages, dicts and numpy arrays',
        fix: `zoo never runs code from a checkpoint; if you trust this file, re-save its state dict with torch.save(model.state_dict()) or as safetensors`,
      });
    }
    return new PyGlobal(module, name);
  };
  const setItem = (d: PyValue, k: PyValue, v: PyValue) => {
    if (!(d instanceof PyDict)) throw fail('SETITEM on something that is not a dict');
    holds(d, [k, v]);
    d.map.set(k, v);
  };
  const appendTo = (l: PyValue, items: PyValue[]) => {
    if (!Array.isArray(l) || Object.isFrozen(l)) throw fail('APPEND on something that is not a list');
    holds(l, items);
    for (const it of items) (l as PyValue[]).push(it);
  };
  const call = (fn: PyValue, args: PyValue, how: 'call' | 'newobj'): PyValue => {
    if (!(fn instanceof PyGlobal)) throw fail('REDUCE of something that is not an allowed global');
    if (!Array.isArray(args)) throw fail('REDUCE arguments are not a tuple');
    const rule = GLOBALS.get(fn.qualified)!;
    const builder = rule[how];
    if (!builder) throw fail(`${fn.qualified} cannot be ${how === 'call' ? 'called' : 'instantiated'} in a checkpoint`);
    // What a builder returns may hold its arguments (OrderedDict items, a set's members).
    return holds(builder(args as PyTuple, ctx), [args]);
  };
  const build = (obj: PyValue, state: PyValue) => {
    holds(obj, [state]);
    if (obj instanceof PyDict) obj.attrs = state;
    else if (obj instanceof PyObject) obj.state = state;
    else if (obj instanceof NpDtype) {
      if (!Array.isArray(state) || typeof state[1] !== 'string') throw fail('numpy.dtype state is not a tuple');
      obj.byteorder = state[1];
    } else if (obj instanceof NdArrayRef) {
      // ndarray.__setstate__((version, shape, dtype, is_fortran, rawdata)); version may be absent.
      if (!Array.isArray(state)) throw fail('ndarray state is not a tuple');
      const s = (state.length === 5 ? state.slice(1) : state) as PyValue[];
      const [shape, dtype, fortran, raw] = s;
      if (s.length !== 4 || !(dtype instanceof NpDtype)) throw fail('ndarray state has the wrong form');
      obj.shape = intList(shape!, ctx, 'ndarray shape');
      if (obj.shape.some((d) => d < 0)) throw fail('ndarray shape has a negative dimension');
      obj.dtype = dtype;
      obj.fortran = fortran === true || fortran === 1;
      const data = typeof raw === 'string' ? latin1(raw, ctx) : raw;
      if (!(data instanceof Uint8Array)) throw fail('ndarray data is not raw bytes (an object array?)');
      obj.data = data;
    } else throw fail('BUILD on an object that takes no state');
  };
  const tuple = (items: PyValue[]): PyTuple => Object.freeze(holds(items, items));
  const persistent = (pid: PyValue) => {
    if (!opts.persistentLoad) throw fail('persistent id in a pickle that should have none');
    push(opts.persistentLoad(pid));
  };

  for (;;) {
    const at = pos;
    const op = u8();
    switch (op) {
      case 0x80: // PROTO
        if (u8() > 5) throw fail('pickle protocol newer than 5');
        break;
      case 0x95: // FRAME: a length hint only
        u64();
        break;
      case 0x2e: {
        // STOP
        if (stack.length !== 1 || marks.length) throw fail('pickle ends with a malformed stack');
        return { value: stack[0] as PyValue, end: pos };
      }
      case 0x28: // MARK
        if (marks.length >= MAX_STACK) throw fail('too many MARKs');
        marks.push(stack.length);
        break;
      case 0x30: // POP
        if (marks.length && stack.length === marks[marks.length - 1]) marks.pop();
        else pop();
        break;
      case 0x31: // POP_MARK
        popMark();
        break;
      case 0x32: // DUP
        push(top());
        break;
      case 0x4e: // NONE
        push(null);
        break;
      case 0x88: // NEWTRUE
        push(true);
        break;
      case 0x89: // NEWFALSE
        push(false);
        break;
      case 0x4b: // BININT1
        push(u8());
        break;
      case 0x4d: // BININT2
        push(u16());
        break;
      case 0x4a: // BININT
        need(4);
        pos += 4;
        push(view.getInt32(pos - 4, true));
        break;
      case 0x8a: // LONG1
      case 0x8b: {
        // LONG4
        const n = op === 0x8a ? u8() : u32();
        if (n > MAX_LONG_BYTES) throw fail(`integer of ${n} bytes`);
        const b = bytes(n);
        let v = 0n;
        for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
        if (n > 0 && b[n - 1]! & 0x80) v -= 1n << BigInt(8 * n);
        push(v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v);
        break;
      }
      case 0x47: // BINFLOAT (big-endian)
        need(8);
        pos += 8;
        push(view.getFloat64(pos - 8, false));
        break;
      case 0x58: // BINUNICODE
        push(utf8.decode(bytes(u32())));
        break;
      case 0x8c: // SHORT_BINUNICODE
        push(utf8.decode(bytes(u8())));
        break;
      case 0x8d: // BINUNICODE8
        push(utf8.decode(bytes(u64())));
        break;
      case 0x54: // BINSTRING (Python 2 str: read as latin1, as torch.load(encoding='latin1') does)
        push(new TextDecoder('latin1').decode(bytes(u32())));
        break;
      case 0x55: // SHORT_BINSTRING
        push(new TextDecoder('latin1').decode(bytes(u8())));
        break;
      case 0x42: // BINBYTES
        push(bytes(u32()));
        break;
      case 0x43: // SHORT_BINBYTES
        push(bytes(u8()));
        break;
      case 0x8e: // BINBYTES8
      case 0x96: // BYTEARRAY8
        push(bytes(u64()));
        break;
      case 0x29: // EMPTY_TUPLE
        push(Object.freeze([]));
        break;
      case 0x85: // TUPLE1
        push(tuple([pop()]));
        break;
      case 0x86: {
        // TUPLE2
        const b = pop();
        push(tuple([pop(), b]));
        break;
      }
      case 0x87: {
        // TUPLE3
        const c = pop();
        const b = pop();
        push(tuple([pop(), b, c]));
        break;
      }
      case 0x74: // TUPLE
        push(tuple(popMark()));
        break;
      case 0x5d: // EMPTY_LIST
        push([]);
        break;
      case 0x6c: {
        // LIST
        const items = popMark();
        push(holds(items, items));
        break;
      }
      case 0x61: {
        // APPEND
        const v = pop();
        appendTo(top(), [v]);
        break;
      }
      case 0x65: {
        // APPENDS
        const items = popMark();
        appendTo(top(), items);
        break;
      }
      case 0x7d: // EMPTY_DICT
        push(new PyDict());
        break;
      case 0x64: {
        // DICT
        const items = popMark();
        if (items.length % 2) throw fail('DICT with an odd number of items');
        const d = holds(new PyDict(), items);
        for (let i = 0; i < items.length; i += 2) d.map.set(items[i]!, items[i + 1]!);
        push(d);
        break;
      }
      case 0x73: {
        // SETITEM
        const v = pop();
        const k = pop();
        setItem(top(), k, v);
        break;
      }
      case 0x75: {
        // SETITEMS
        const items = popMark();
        if (items.length % 2) throw fail('SETITEMS with an odd number of items');
        const d = top();
        for (let i = 0; i < items.length; i += 2) setItem(d, items[i]!, items[i + 1]!);
        break;
      }
      case 0x8f: // EMPTY_SET
        push([]);
        break;
      case 0x90: {
        // ADDITEMS
        const items = popMark();
        appendTo(top(), items);
        break;
      }
      case 0x91: // FROZENSET
        push(tuple(popMark()));
        break;
      case 0x71: // BINPUT
        memoPut(u8());
        break;
      case 0x72: // LONG_BINPUT
        memoPut(u32());
        break;
      case 0x94: // MEMOIZE
        memoPut(memo.size);
        break;
      case 0x68: // BINGET
        memoGet(u8());
        break;
      case 0x6a: // LONG_BINGET
        memoGet(u32());
        break;
      case 0x63: {
        // GLOBAL "module\nname\n"
        const module = line();
        push(global(module, line()));
        break;
      }
      case 0x93: {
        // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') throw fail('STACK_GLOBAL of non-strings');
        push(global(module, name));
        break;
      }
      case 0x52: {
        // REDUCE
        const args = pop();
        const fn = pop();
        push(call(fn, args, 'call'));
        break;
      }
      case 0x81: {
        // NEWOBJ
        const args = pop();
        const cls = pop();
        push(call(cls, args, 'newobj'));
        break;
      }
      case 0x92: {
        // NEWOBJ_EX (cls, args, kwargs); keyword arguments are never needed
        const kwargs = pop();
        const args = pop();
        const cls = pop();
        if (!(kwargs instanceof PyDict) || kwargs.map.size) throw fail('NEWOBJ_EX with keyword arguments');
        push(call(cls, args, 'newobj'));
        break;
      }
      case 0x62: {
        // BUILD
        const state = pop();
        build(top(), state);
        break;
      }
      case 0x51: // BINPERSID
        persistent(pop());
        break;
      default:
        pos = at;
        throw fail(
          `opcode 0x${op.toString(16).padStart(2, '0')} (${JSON.stringify(String.fromCharCode(op))}) is not one a checkpoint uses`,
        );
    }
  }
}
