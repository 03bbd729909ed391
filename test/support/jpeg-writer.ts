/**
 * A small baseline JPEG encoder for decoder tests: the variants sharp's encoder cannot make (restart
 * intervals, any sampling factors such as 4:2:2, 4:4:0, 4:1:1 or 3x1, RGB-coded JPEGs with an Adobe
 * transform of 0, random quantisation tables), from RGB pixels. Not a good encoder (flat 8- and
 * 4-bit Huffman codes, float DCT): only a valid one, for libjpeg to decode.
 */

export interface JpegWriterOptions {
  /** 'ycc': JFIF YCbCr; 'rgb': R, G, B coded as they are (Adobe transform 0); 'gray': Y only. */
  colour: 'ycc' | 'rgb' | 'gray';
  /** Sampling factors [h, v] of the first component (the others are 1x1); 1..4 each. */
  sampling: [number, number];
  /** Restart interval in MCUs (0: none). */
  restartInterval: number;
  /** Two 64-entry quantisation tables (natural order, 1..255): luma, chroma. */
  quant: [Uint8Array, Uint8Array];
}

// prettier-ignore
const ZIGZAG = [
  0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21,
  28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61,
  54, 47, 55, 62, 63,
];

/** A Huffman table giving every symbol a code of `length` bits, in symbol order (canonical codes). */
interface FlatTable {
  length: number;
  symbols: number[];
  code: Map<number, number>;
}

function flatTable(symbols: number[], length: number): FlatTable {
  // Canonical codes of one length are 0, 1, 2, ... in the order of HUFFVAL; all-ones is never reached.
  if (symbols.length >= 1 << length) throw new Error('too many symbols for the code length');
  return { length, symbols, code: new Map(symbols.map((s, i) => [s, i])) };
}

const DC_TABLE = flatTable([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], 4);
const AC_TABLE = flatTable(
  [0x00, 0xf0, ...Array.from({ length: 16 }, (_, run) => Array.from({ length: 10 }, (_, s) => (run << 4) | (s + 1))).flat()],
  8,
);

class BitWriter {
  readonly bytes: number[] = [];
  private acc = 0;
  private n = 0;

  write(value: number, bits: number): void {
    for (let b = bits - 1; b >= 0; b--) {
      this.acc = (this.acc << 1) | ((value >> b) & 1);
      if (++this.n === 8) this.flushByte();
    }
  }

  private flushByte(): void {
    this.bytes.push(this.acc);
    if (this.acc === 0xff) this.bytes.push(0x00); // byte stuffing
    this.acc = 0;
    this.n = 0;
  }

  /** Pad the last byte with 1-bits (as the standard asks before a marker). */
  align(): void {
    while (this.n !== 0) this.write(1, 1);
  }

  marker(code: number): void {
    this.align();
    this.bytes.push(0xff, code);
  }
}

function category(v: number): number {
  let a = Math.abs(v);
  let s = 0;
  while (a > 0) {
    s++;
    a >>= 1;
  }
  return s;
}

function writeValue(w: BitWriter, v: number, size: number): void {
  if (size > 0) w.write(v < 0 ? v + (1 << size) - 1 : v, size);
}

const COS = Array.from({ length: 8 }, (_, x) => Array.from({ length: 8 }, (_, u) => Math.cos(((2 * x + 1) * u * Math.PI) / 16)));

/** Forward DCT and quantisation of one 8x8 block of level-shifted samples, in zigzag order. */
function quantisedBlock(block: Float64Array, q: Uint8Array): Int32Array {
  const out = new Int32Array(64);
  for (let v = 0; v < 8; v++) {
    for (let u = 0; u < 8; u++) {
      let sum = 0;
      for (let y = 0; y < 8; y++) for (let x = 0; x < 8; x++) sum += block[y * 8 + x]! * COS[x]![u]! * COS[y]![v]!;
      const cu = u === 0 ? Math.SQRT1_2 : 1;
      const cv = v === 0 ? Math.SQRT1_2 : 1;
      const coef = Math.round((0.25 * cu * cv * sum) / q[v * 8 + u]!);
      out[ZIGZAG.indexOf(v * 8 + u)] = Math.max(-1023, Math.min(1023, coef));
    }
  }
  return out;
}

interface Plane {
  width: number;
  height: number;
  data: Float64Array;
}

/** Encodes RGB pixels (width*height*3) as a baseline JPEG with the given options. */
export function encodeJpeg(rgb: Uint8Array, width: number, height: number, opts: JpegWriterOptions): Uint8Array {
  const gray = opts.colour === 'gray';
  const [h0, v0] = gray ? [1, 1] : opts.sampling;
  const factors: [number, number][] = gray ? [[1, 1]] : [[h0, v0], [1, 1], [1, 1]];
  const ids = opts.colour === 'rgb' ? [0x52, 0x47, 0x42] : [1, 2, 3];
  const hmax = Math.max(...factors.map((f) => f[0]));
  const vmax = Math.max(...factors.map((f) => f[1]));
  const mcusX = Math.ceil(width / (8 * hmax));
  const mcusY = Math.ceil(height / (8 * vmax));

  // Full-resolution planes, edge-replicated to whole MCUs, level-shifted.
  const fullW = mcusX * 8 * hmax;
  const fullH = mcusY * 8 * vmax;
  const channels = gray ? 1 : 3;
  const full = Array.from({ length: channels }, () => new Float64Array(fullW * fullH));
  for (let y = 0; y < fullH; y++) {
    for (let x = 0; x < fullW; x++) {
      const s = (Math.min(y, height - 1) * width + Math.min(x, width - 1)) * 3;
      const [r, g, b] = [rgb[s]!, rgb[s + 1]!, rgb[s + 2]!];
      const i = y * fullW + x;
      if (opts.colour === 'rgb') {
        full[0]![i] = r - 128;
        full[1]![i] = g - 128;
        full[2]![i] = b - 128;
      } else {
        full[0]![i] = 0.299 * r + 0.587 * g + 0.114 * b - 128;
        if (!gray) {
          full[1]![i] = -0.168736 * r - 0.331264 * g + 0.5 * b;
          full[2]![i] = 0.5 * r - 0.418688 * g - 0.081312 * b;
        }
      }
    }
  }
  // Each component downsampled by averaging (hmax/h) x (vmax/v) cells.
  const planes: Plane[] = factors.map(([h, v], c) => {
    const fx = hmax / h;
    const fy = vmax / v;
    const pw = fullW / fx;
    const ph = fullH / fy;
    const data = new Float64Array(pw * ph);
    for (let y = 0; y < ph; y++) {
      for (let x = 0; x < pw; x++) {
        let s = 0;
        for (let dy = 0; dy < fy; dy++) for (let dx = 0; dx < fx; dx++) s += full[c]![(y * fy + dy) * fullW + x * fx + dx]!;
        data[y * pw + x] = s / (fx * fy);
      }
    }
    return { width: pw, height: ph, data };
  });

  const out: number[] = [0xff, 0xd8];
  const segment = (code: number, body: number[]) => out.push(0xff, code, (body.length + 2) >> 8, (body.length + 2) & 255, ...body);
  const u16 = (v: number) => [v >> 8, v & 255];
  if (opts.colour === 'rgb') segment(0xee, [...Buffer.from('Adobe'), ...u16(100), 0, 0, 0, 0, 0]); // transform 0: RGB
  else segment(0xe0, [...Buffer.from('JFIF\0'), 1, 1, 0, 0, 1, 0, 1, 0, 0]);
  for (const t of [0, 1]) segment(0xdb, [t, ...ZIGZAG.map((k) => opts.quant[t]![k]!)]);
  segment(0xc0, [8, ...u16(height), ...u16(width), channels, ...factors.flatMap(([h, v], c) => [ids[c]!, (h << 4) | v, c === 0 || opts.colour === 'rgb' ? 0 : 1])]);
  const dht = (cls: number, id: number, t: FlatTable) => {
    const counts = new Array<number>(16).fill(0);
    counts[t.length - 1] = t.symbols.length;
    return [(cls << 4) | id, ...counts, ...t.symbols];
  };
  segment(0xc4, [...dht(0, 0, DC_TABLE), ...dht(1, 0, AC_TABLE), ...dht(0, 1, DC_TABLE), ...dht(1, 1, AC_TABLE)]);
  if (opts.restartInterval > 0) segment(0xdd, u16(opts.restartInterval));
  segment(0xda, [channels, ...factors.flatMap((_, c) => [ids[c]!, c === 0 || opts.colour === 'rgb' ? 0x00 : 0x11]), 0, 63, 0]);

  const w = new BitWriter();
  const pred = new Array<number>(channels).fill(0);
  const block = new Float64Array(64);
  const encodeBlock = (c: number, bx: number, by: number) => {
    const p = planes[c]!;
    for (let y = 0; y < 8; y++) for (let x = 0; x < 8; x++) block[y * 8 + x] = p.data[(by * 8 + y) * p.width + bx * 8 + x]!;
    const q = quantisedBlock(block, opts.quant[c === 0 || opts.colour === 'rgb' ? 0 : 1]!);
    const diff = q[0]! - pred[c]!;
    pred[c] = q[0]!;
    const ds = category(diff);
    w.write(DC_TABLE.code.get(ds)!, DC_TABLE.length);
    writeValue(w, diff, ds);
    let run = 0;
    for (let k = 1; k < 64; k++) {
      const v = q[k]!;
      if (v === 0) {
        run++;
        continue;
      }
      while (run > 15) {
        w.write(AC_TABLE.code.get(0xf0)!, AC_TABLE.length);
        run -= 16;
      }
      const s = category(v);
      w.write(AC_TABLE.code.get((run << 4) | s)!, AC_TABLE.length);
      writeValue(w, v, s);
      run = 0;
    }
    if (run > 0) w.write(AC_TABLE.code.get(0x00)!, AC_TABLE.length);
  };

  // MCUs: one block each for a single component (covering only the image's blocks), else interleaved.
  const units: (() => void)[] = [];
  if (channels === 1) {
    for (let by = 0; by < Math.ceil(height / 8); by++) for (let bx = 0; bx < Math.ceil(width / 8); bx++) units.push(() => encodeBlock(0, bx, by));
  } else {
    for (let my = 0; my < mcusY; my++) {
      for (let mx = 0; mx < mcusX; mx++) {
        units.push(() => {
          factors.forEach(([h, v], c) => {
            for (let by = 0; by < v; by++) for (let bx = 0; bx < h; bx++) encodeBlock(c, mx * h + bx, my * v + by);
          });
        });
      }
    }
  }
  units.forEach((unit, i) => {
    if (opts.restartInterval > 0 && i > 0 && i % opts.restartInterval === 0) {
      w.marker(0xd0 + ((i / opts.restartInterval - 1) % 8));
      pred.fill(0);
    }
    unit();
  });
  w.align();
  for (const b of w.bytes) out.push(b);
  out.push(0xff, 0xd9);
  return Uint8Array.from(out);
}
