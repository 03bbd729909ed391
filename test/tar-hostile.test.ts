// Hostile and unusual tar entries, written header by header (the system tar refuses to write most
// of them): escaping names, links, devices, GNU long names and pax paths that lie, base-256 sizes,
// pax size overrides, and malformed headers.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataError } from '../src/errors.js';
import { listTarImages, readTarEntries, readTarEntry, type TarEntry, type TarSkipped } from '../src/data/tar.js';
import { rejection, VAL_227 } from './support/fixtures.js';
import { TAR_END, tarEntry, tarHeader, tarPad } from './support/tar-writer.js';

const A = 'ILSVRC2012_val_00000347.JPEG';
const B = 'ILSVRC2012_val_00000355.JPEG';
const C = 'ILSVRC2012_val_00000361.JPEG';

/** A GNU 'L' long-name entry followed by the entry it names. */
function gnuLong(name: string, entry: Buffer): Buffer {
  const n = Buffer.from(name + '\0', 'utf8');
  return Buffer.concat([tarHeader({ name: '././@LongLink', type: 'L', size: n.length, magic: 'gnu' }), tarPad(n), entry]);
}

function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let len = Buffer.byteLength(body) + 1;
  while (String(len).length + Buffer.byteLength(body) !== len) len = String(len).length + Buffer.byteLength(body);
  return `${len}${body}`;
}

/** A pax 'x' header with the given records followed by the entry it describes. */
function pax(records: [string, string][], entry: Buffer): Buffer {
  const body = Buffer.from(records.map(([k, v]) => paxRecord(k, v)).join(''), 'utf8');
  return Buffer.concat([tarHeader({ name: 'PaxHeaders.0/x', type: 'x', size: body.length }), tarPad(body), entry]);
}

let dir: string;
const img = (n: string) => readFileSync(join(VAL_227, n));

async function collect(file: string, skipped: TarSkipped[] = []): Promise<TarEntry[]> {
  const out: TarEntry[] = [];
  for await (const e of readTarEntries(file, { onSkip: (s) => skipped.push(s) })) out.push(e);
  return out;
}

const dataErrorOf = (p: Promise<unknown>) => rejection(p, DataError);

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'zoo-tar-hostile-'));
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('hostile entries', () => {
  it('ignores escaping names, links and devices with a reason, and keeps the honest files', async () => {
    const evil = Buffer.from('owned\n');
    const parts = [
      tarEntry(A, img(A)),
      tarEntry('../../etc/x.JPEG', evil),
      tarEntry('/abs/ILSVRC2012_val_00000001.JPEG', evil),
      tarEntry('val/../../ILSVRC2012_val_00000002.JPEG', evil),
      tarEntry('..\\..\\ILSVRC2012_val_00000003.JPEG', evil),
      tarEntry('C:/ILSVRC2012_val_00000004.JPEG', evil),
      tarHeader({ name: 'ILSVRC2012_val_00000005.JPEG', type: '2', linkname: '/etc/passwd' }),
      tarHeader({ name: 'ILSVRC2012_val_00000006.JPEG', type: '1', linkname: A }),
      tarHeader({ name: 'ILSVRC2012_val_00000007.JPEG', type: '3' }),
      tarHeader({ name: 'ILSVRC2012_val_00000008.JPEG', type: '4' }),
      tarHeader({ name: 'ILSVRC2012_val_00000009.JPEG', type: '6' }),
      tarEntry('ILSVRC2012_val_00000010.JPEG', evil, { type: 'S' }),
      // A long name and a pax path that escape, behind innocent-looking header names.
      gnuLong(`${'../'.repeat(40)}ILSVRC2012_val_00000011.JPEG`, tarEntry('ILSVRC2012_val_00000011.JPEG', evil, { magic: 'gnu' })),
      pax([['path', '/tmp/ILSVRC2012_val_00000012.JPEG']], tarEntry('ILSVRC2012_val_00000012.JPEG', evil)),
      // A ustar prefix that escapes.
      tarEntry('ILSVRC2012_val_00000013.JPEG', evil, { prefix: '../..' }),
      tarEntry(B, img(B)),
      tarHeader({ name: 'somedir/', type: '5' }),
      TAR_END,
    ];
    const file = join(dir, 'hostile.tar');
    writeFileSync(file, Buffer.concat(parts));
    const skipped: TarSkipped[] = [];
    const entries = await collect(file, skipped);
    expect(entries.map((e) => e.path)).toEqual([A, B]);
    expect(entries[0]!.data.equals(img(A))).toBe(true);
    expect(entries[1]!.data.equals(img(B))).toBe(true);
    const reasons = skipped.map((s) => `${s.path} | ${s.reason}`);
    expect(reasons).toEqual([
      "../../etc/x.JPEG | '..' component (would escape the dataset folder)",
      '/abs/ILSVRC2012_val_00000001.JPEG | absolute path',
      "val/../../ILSVRC2012_val_00000002.JPEG | '..' component (would escape the dataset folder)",
      "..\\..\\ILSVRC2012_val_00000003.JPEG | '..' component (would escape the dataset folder)",
      'C:/ILSVRC2012_val_00000004.JPEG | absolute path',
      'ILSVRC2012_val_00000005.JPEG | symbolic link (links are not followed)',
      'ILSVRC2012_val_00000006.JPEG | hard link (links are not followed)',
      'ILSVRC2012_val_00000007.JPEG | character device',
      'ILSVRC2012_val_00000008.JPEG | block device',
      'ILSVRC2012_val_00000009.JPEG | FIFO',
      "ILSVRC2012_val_00000010.JPEG | unsupported entry type 'S'",
      `${'../'.repeat(40)}ILSVRC2012_val_00000011.JPEG | '..' component (would escape the dataset folder)`,
      '/tmp/ILSVRC2012_val_00000012.JPEG | absolute path',
      "../../ILSVRC2012_val_00000013.JPEG | '..' component (would escape the dataset folder)",
    ]);
    // Offsets point at each skipped entry's own header.
    let at = parts[0]!.length;
    expect(skipped[0]!.offset).toBe(at);
    at += parts[1]!.length;
    expect(skipped[1]!.offset).toBe(at);

    // The index sees the same: two images, the hostile ones reported for a warning.
    const idx = await listTarImages(file);
    expect(idx.layout).toBe('flat');
    expect(idx.images.map((i) => i.name)).toEqual([A, B]);
    expect(idx.skipped).toEqual(skipped);
    expect((await readTarEntry(file, idx.images[1]!.offset, idx.images[1]!.size)).equals(img(B))).toBe(true);

    // GNU tar itself agrees on what the honest entries are (it lists, it does not extract here).
    const listed = execFileSync('tar', ['-tf', file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).split('\n');
    expect(listed).toContain(A);
    expect(listed).toContain(B);
    expect(readdirSync(dir)).toEqual(['hostile.tar']);
  });

  it('hostile names in an ImageFolder tar: only the safe class folder counts', async () => {
    const file = join(dir, 'hostile-tree.tar');
    writeFileSync(
      file,
      Buffer.concat([
        tarEntry(`val/n01440764/${A}`, img(A)),
        tarEntry(`val/../n01440764/${C}`, img(C)),
        tarEntry(`/val/n01443537/${B}`, img(B)),
        tarEntry(`./val/n01443537/${B}`, img(B)),
        // macOS tar's AppleDouble companions are hidden files, not images.
        tarEntry(`val/n01443537/._${B}`, Buffer.from('\0\x05\x16\x07')),
        tarEntry(`val/.cache/n01443537/${C}`, img(C)),
        TAR_END,
      ]),
    );
    const idx = await listTarImages(file);
    expect(idx.layout).toBe('imagefolder');
    expect(idx.root).toBe('val');
    expect(idx.images.map((i) => [i.path, i.wnid])).toEqual([
      [`val/n01440764/${A}`, 'n01440764'],
      [`val/n01443537/${B}`, 'n01443537'],
    ]);
    expect(idx.skipped.map((s) => s.reason)).toEqual(["'..' component (would escape the dataset folder)", 'absolute path']);
    expect(idx.otherFiles).toBe(2);
  });
});

describe('formats the system tar does not write here', () => {
  it('reads GNU long names, pax paths, pax size overrides and base-256 sizes', async () => {
    const longName = `${'d'.repeat(150)}/${A}`;
    const base256 = Buffer.alloc(12);
    base256[0] = 0x80;
    base256.writeUIntBE(img(C).length, 6, 6);
    // A pax size overrides a header size that lies (GNU tar writes 0 there for files over 8 GiB).
    const paxSized = Buffer.concat([tarHeader({ name: B, size: 0 }), tarPad(img(B))]);
    const file = join(dir, 'formats.tar');
    writeFileSync(
      file,
      Buffer.concat([
        gnuLong(longName, tarEntry(longName.slice(0, 99), img(A), { magic: 'gnu' })),
        pax(
          [
            ['mtime', '1700000000.5'],
            ['path', `ünï/${B}`],
            ['size', String(img(B).length)],
          ],
          paxSized,
        ),
        tarEntry(C, img(C), { sizeField: base256, magic: 'gnu' }),
        // A global pax header (ignored), then an entry with a ustar prefix.
        Buffer.concat([tarHeader({ name: 'global', type: 'g', size: 512 }), tarPad(Buffer.from(paxRecord('comment', 'x'.repeat(400))))]),
        tarEntry(A, img(A), { prefix: 'some/prefix' }),
        TAR_END,
        Buffer.from('trailing garbage after the end blocks is never read'),
      ]),
    );
    const entries = await collect(file);
    expect(entries.map((e) => e.path)).toEqual([longName, `ünï/${B}`, C, `some/prefix/${A}`]);
    expect(entries.map((e) => e.data.equals(img(e.path.split('/').pop()!)))).toEqual([true, true, true, true]);
    // GNU tar reads the same names from our hand-written headers: the writer is not fooling the reader.
    const listed = execFileSync('tar', ['-tf', file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim().split('\n');
    expect(listed).toEqual(entries.map((e) => e.path));
  });

  it('a long name or pax header too large to be honest skips its entry instead of buffering it', async () => {
    const huge = Buffer.alloc((1 << 20) + 512, 0x61);
    const file = join(dir, 'huge-meta.tar');
    writeFileSync(
      file,
      Buffer.concat([
        tarHeader({ name: '././@LongLink', type: 'L', size: huge.length, magic: 'gnu' }),
        tarPad(huge),
        tarEntry('ILSVRC2012_val_00000001.JPEG', Buffer.from('x'), { magic: 'gnu' }),
        tarEntry(A, img(A)),
        TAR_END,
      ]),
    );
    const skipped: TarSkipped[] = [];
    expect((await collect(file, skipped)).map((e) => e.path)).toEqual([A]);
    expect(skipped.map((s) => s.reason)).toEqual([`long name of ${huge.length} bytes`]);
  });
});

describe('malformed headers are DataErrors at their offset', () => {
  const cases: [string, () => Buffer, RegExp][] = [
    ['bad checksum', () => tarHeader({ name: B, size: 10, badChecksum: true }), /checksum \d+ does not match/],
    [
      'negative base-256 size',
      () => tarHeader({ name: B, sizeField: Buffer.alloc(12, 0xff) }),
      /negative size/,
    ],
    [
      'non-octal size',
      () => tarHeader({ name: B, sizeField: Buffer.from('00000000x12\0', 'latin1') }),
      /size field is not a number/,
    ],
    [
      'malformed pax record',
      () => Buffer.concat([tarHeader({ name: 'p', type: 'x', size: 12 }), tarPad(Buffer.from('99 path=abc\n'))]),
      /malformed pax record/,
    ],
    [
      'pax size that is not a number',
      () => Buffer.concat([tarHeader({ name: 'p', type: 'x', size: 12 }), tarPad(Buffer.from(paxRecord('size', '-12')))]),
      /pax size/,
    ],
  ];
  for (const [what, bad, msg] of cases) {
    it(what, async () => {
      const good = tarEntry(A, img(A));
      const file = join(dir, `bad-${what.replace(/\W+/g, '-')}.tar`);
      writeFileSync(file, Buffer.concat([good, bad(), tarEntry(B, img(B)), TAR_END]));
      const e = await dataErrorOf(collect(file));
      expect(e.message).toMatch(msg);
      expect(e.message).toContain(`corrupt tar header at byte ${good.length}`);
      expect(e.file).toBe(file);
      expect(e.oneLine()).toContain(file);
    });
  }

  it('an entry whose data runs past the end of the file', async () => {
    const file = join(dir, 'short.tar');
    const data = img(A);
    writeFileSync(file, Buffer.concat([tarHeader({ name: A, size: data.length }), data.subarray(0, 1000)]));
    const e = await dataErrorOf(listTarImages(file));
    expect(e.message).toBe(
      `truncated tar: the entry '${A}' (header at byte 0) holds ${data.length} bytes from byte 512, but the file ends at byte 1512`,
    );
  });
});
