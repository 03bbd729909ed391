/**
 * Fuzz-style robustness of the checkpoint readers: thousands of deterministic (seeded) variants of
 * every golden fixture, truncated, bit-flipped, with bytes overwritten, inserted or deleted, and
 * with header fields (zip records, safetensors length, pickle lengths) set to extreme values.
 * Each variant must give a WeightsError or a well-formed result; never another exception, never a
 * slow case (a per-case time bound), never an allocation out of proportion to the input.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { WeightsError } from '../src/errors.js';
import { numel } from '../src/models/graph.js';
import { parseCheckpoint } from '../src/models/weights/index.js';
import { mulberry32 } from './support/random.js';

const FORMATS = join(import.meta.dirname, '..', '..', 'shared', 'golden', 'formats');
const FILES = [
  'state_dict.pth',
  'state_dict_legacy.pth',
  'training_checkpoint.pth.tar',
  'state_dict.safetensors',
  'paddle_style.pdparams',
  'malicious.pth',
  'malicious.pdparams',
];
const CASES_PER_FILE = Number(process.env.FUZZ_CASES ?? 700);
/**
 * A single case taking longer than this means something loops or scans without bound. Cases take
 * well under a millisecond; the bound is loose because the CI machine's two cores are shared.
 */
const MAX_CASE_MS = 1000;

const EXTREMES = [0x00, 0xff, 0x7f, 0x80];

function mutate(src: Uint8Array, rnd: () => number): { bytes: Uint8Array; how: string } {
  const int = (n: number) => Math.floor(rnd() * n);
  const b = Uint8Array.from(src);
  const kind = int(7);
  switch (kind) {
    case 0: {
      const at = int(src.length);
      return { bytes: src.slice(0, at), how: `truncate at ${at}` };
    }
    case 1: {
      const flips = 1 + int(8);
      for (let i = 0; i < flips; i++) b[int(b.length)]! ^= 1 << int(8);
      return { bytes: b, how: `${flips} bit flips` };
    }
    case 2: {
      // Header regions: the start (pickle opcodes, safetensors length/JSON) and the end (zip directory).
      const n = 1 + int(4);
      for (let i = 0; i < n; i++) {
        const at = rnd() < 0.5 ? int(Math.min(64, b.length)) : b.length - 1 - int(Math.min(120, b.length));
        b[at] = int(256);
      }
      return { bytes: b, how: `${n} header bytes` };
    }
    case 3: {
      // A 2/4/8-byte field set to an extreme value (lengths, counts, offsets).
      const width = [2, 4, 8][int(3)]!;
      const at = int(Math.max(1, b.length - width));
      const v = EXTREMES[int(EXTREMES.length)]!;
      for (let i = 0; i < width; i++) b[at + i] = i === width - 1 && v === 0x80 ? 0x7f : v;
      return { bytes: b, how: `${width}-byte field at ${at} = ${v}` };
    }
    case 4: {
      const at = int(src.length);
      const n = 1 + int(16);
      const ins = Uint8Array.from({ length: n }, () => int(256));
      const out = new Uint8Array(src.length + n);
      out.set(src.subarray(0, at));
      out.set(ins, at);
      out.set(src.subarray(at), at + n);
      return { bytes: out, how: `insert ${n} at ${at}` };
    }
    case 5: {
      const at = int(src.length);
      const n = 1 + int(16);
      const out = new Uint8Array([...src.subarray(0, at), ...src.subarray(at + n)]);
      return { bytes: out, how: `delete ${n} at ${at}` };
    }
    default: {
      const n = 1 + int(32);
      for (let i = 0; i < n; i++) b[int(b.length)] = int(256);
      return { bytes: b, how: `${n} random bytes` };
    }
  }
}

describe('fuzzed checkpoints', () => {
  for (const [index, file] of FILES.entries()) {
    it(`${file}: ${CASES_PER_FILE} corrupted variants give a WeightsError or a well-formed result`, () => {
      const src = readFileSync(join(FORMATS, file));
      if (file.startsWith('malicious')) rmSync('/tmp/zoo-pickle-pwned', { force: true });
      const rnd = mulberry32(0x2008 + index);
      let errors = 0;
      let results = 0;
      let slowest = 0;
      let slowestCase = '';
      for (let c = 0; c < CASES_PER_FILE; c++) {
        const { bytes, how } = mutate(src, rnd);
        const label = `${file} case ${c} (${how})`;
        const t0 = performance.now();
        try {
          const m = parseCheckpoint(bytes, file);
          results++;
          let elements = 0;
          for (const [name, t] of m) {
            expect(typeof name, label).toBe('string');
            expect(['float32', 'int64'], label).toContain(t.dtype);
            expect(t.data.length, `${label} ${name}`).toBe(numel(t.shape));
            expect(t.data instanceof (t.dtype === 'float32' ? Float32Array : BigInt64Array), label).toBe(true);
            elements += t.data.length;
          }
          // What the readers allocate stays proportional to the input (ElementBudget: 4 x bytes).
          expect(elements, label).toBeLessThanOrEqual(4 * bytes.length + 4096);
        } catch (e) {
          if (!(e instanceof WeightsError)) throw new Error(`${label}: ${String(e)}`, { cause: e });
          expect(e.file, label).toBe(file);
          errors++;
        }
        const ms = performance.now() - t0;
        if (ms > slowest) [slowest, slowestCase] = [ms, label];
      }
      expect(slowest, slowestCase).toBeLessThan(MAX_CASE_MS);
      expect(errors + results).toBe(CASES_PER_FILE);
      // Hostile files must stay refused however they are mangled: no variant yields tensors
      // built by the forbidden call (they can only ever produce an error or a harmless dict).
      if (file.startsWith('malicious')) {
        expect(results).toBeLessThan(CASES_PER_FILE);
        expect(existsSync('/tmp/zoo-pickle-pwned')).toBe(false);
      }
      // The mutations must actually exercise both outcomes for the real fixtures.
      else expect(errors).toBeGreaterThan(CASES_PER_FILE / 10);
    });
  }
});
