// Tar input read in place: real archives made by the system `tar` from real val JPEGs, in every
// format GNU tar writes (gnu, ustar, pax), read back without extraction.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataError } from '../src/errors.js';
import { listTarImages, readTarEntries, readTarEntry, TarFile, type TarEntry, type TarSkipped } from '../src/data/tar.js';
import { rejection, VAL_227, wnidOf } from './support/fixtures.js';

let dir: string;
let names: string[];

function tar(args: string[], cwd: string): void {
  execFileSync('tar', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

async function collect(file: string, opts: Parameters<typeof readTarEntries>[1] = {}): Promise<TarEntry[]> {
  const out: TarEntry[] = [];
  for await (const e of readTarEntries(file, opts)) out.push(e);
  return out;
}

const dataErrorOf = (p: Promise<unknown>) => rejection(p, DataError);

/** Every path under root with its size and mtime: a write anywhere below shows up. */
function snapshot(root: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const ent of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, ent.name);
      const st = statSync(p, { throwIfNoEntry: false });
      out.push(`${p} ${st?.size} ${st?.mtimeMs}`);
      if (ent.isDirectory()) walk(p);
    }
  };
  walk(root);
  return out.sort();
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'zoo-tar-read-'));
  // The 12 smallest val images keep the archives small but real.
  names = readdirSync(VAL_227)
    .filter((n) => n.endsWith('.JPEG'))
    .sort((a, b) => statSync(join(VAL_227, a)).size - statSync(join(VAL_227, b)).size)
    .slice(0, 12)
    .sort();
  mkdirSync(join(dir, 'flat'));
  for (const n of names) {
    copyFileSync(join(VAL_227, n), join(dir, 'flat', n));
    mkdirSync(join(dir, 'tree', 'val', wnidOf(n)), { recursive: true });
    copyFileSync(join(VAL_227, n), join(dir, 'tree', 'val', wnidOf(n), n));
  }
  writeFileSync(join(dir, 'tree', 'README.txt'), 'not an image\n');
  // The original ILSVRC2012_img_val.tar layout: flat names at the top level, in shuffled order.
  const shuffled = [...names].reverse();
  tar(['--format=gnu', '-cf', join(dir, 'ILSVRC2012_img_val.tar'), ...shuffled], join(dir, 'flat'));
}, 60_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('readTarEntries', () => {
  it('streams every file with the exact bytes, in archive order', async () => {
    const entries = await collect(join(dir, 'ILSVRC2012_img_val.tar'));
    expect(entries.map((e) => e.path)).toEqual([...names].reverse());
    for (const e of entries) {
      const src = readFileSync(join(VAL_227, e.path));
      expect(e.size).toBe(src.length);
      expect(e.data.equals(src)).toBe(true);
      // The recorded offset points at the same bytes for a later random read.
      expect((await readTarEntry(join(dir, 'ILSVRC2012_img_val.tar'), e.offset, e.size)).equals(src)).toBe(true);
    }
  });

  it('reads data only for entries the filter accepts', async () => {
    const seen: string[] = [];
    const want = new Set(names.slice(0, 3));
    const entries = await collect(join(dir, 'ILSVRC2012_img_val.tar'), {
      filter: (p) => {
        seen.push(p);
        return want.has(p);
      },
    });
    expect(seen).toEqual([...names].reverse());
    expect(entries.map((e) => e.path).sort()).toEqual([...want].sort());
    for (const e of entries) expect(e.data.equals(readFileSync(join(VAL_227, e.path)))).toBe(true);
  });

  it('reads ustar (prefix + name), GNU long names and pax paths written by GNU tar', async () => {
    // 150+ character paths: ustar splits them into prefix/name, GNU writes an L entry, pax an x record.
    const deep = join('a'.repeat(60), 'b'.repeat(60), 'c'.repeat(40));
    const srcDir = join(dir, 'long');
    mkdirSync(join(srcDir, deep), { recursive: true });
    copyFileSync(join(VAL_227, names[0]!), join(srcDir, deep, names[0]!));
    const longGnu = join(deep, `${'x'.repeat(120)}.JPEG`);
    copyFileSync(join(VAL_227, names[1]!), join(srcDir, longGnu));
    const unicode = 'ünïcødé-日本.JPEG';
    copyFileSync(join(VAL_227, names[2]!), join(srcDir, unicode));
    for (const format of ['gnu', 'pax', 'ustar'] as const) {
      const file = join(dir, `long-${format}.tar`);
      const members = format === 'ustar' ? [join(deep, names[0]!), unicode] : [join(deep, names[0]!), longGnu, unicode];
      tar([`--format=${format}`, '-cf', file, ...members], srcDir);
      const entries = await collect(file);
      expect(entries.map((e) => e.path), format).toEqual(members);
      for (const e of entries) expect(e.data.equals(readFileSync(join(srcDir, e.path))), `${format} ${e.path}`).toBe(true);
    }
  });

  it('skips symlinks and hard links from a real tar, with a reason, and keeps the files', async () => {
    const srcDir = join(dir, 'links');
    mkdirSync(srcDir);
    copyFileSync(join(VAL_227, names[0]!), join(srcDir, names[0]!));
    symlinkSync('/etc/passwd', join(srcDir, names[1]!));
    execFileSync('ln', [join(srcDir, names[0]!), join(srcDir, names[2]!)]);
    const file = join(dir, 'links.tar');
    tar(['-cf', file, names[0]!, names[1]!, names[2]!], srcDir);
    const skipped: TarSkipped[] = [];
    const entries = await collect(file, { onSkip: (s) => skipped.push(s) });
    expect(entries.map((e) => e.path)).toEqual([names[0]]);
    expect(skipped.map((s) => [s.path, s.reason])).toEqual([
      [names[1], 'symbolic link (links are not followed)'],
      [names[2], 'hard link (links are not followed)'],
    ]);
    expect(skipped[0]!.offset % 512).toBe(0);
  });

  it('ends at EOF when the end-of-archive blocks are missing', async () => {
    const src = join(dir, 'ILSVRC2012_img_val.tar');
    const entries = await collect(src);
    const last = entries[entries.length - 1]!;
    const file = join(dir, 'no-end.tar');
    const end = last.offset + Math.ceil(last.size / 512) * 512;
    writeFileSync(file, readFileSync(src).subarray(0, end));
    expect((await collect(file)).map((e) => e.path)).toEqual(entries.map((e) => e.path));
  });

  it('stops when the signal is aborted', async () => {
    const ac = new AbortController();
    const got: string[] = [];
    const run = (async () => {
      for await (const e of readTarEntries(join(dir, 'ILSVRC2012_img_val.tar'), { signal: ac.signal })) {
        got.push(e.path);
        ac.abort();
      }
    })();
    await expect(run).rejects.toThrow(/abort/i);
    expect(got).toHaveLength(1);
  });
});

describe('damaged archives', () => {
  it('a truncated archive is a DataError naming the tar and the byte offset', async () => {
    const src = join(dir, 'ILSVRC2012_img_val.tar');
    const entries = await collect(src);
    const third = entries[2]!;
    const cut = third.offset + Math.floor(third.size / 2);
    const file = join(dir, 'cut-data.tar');
    writeFileSync(file, readFileSync(src).subarray(0, cut));
    for (const p of [collect(file), listTarImages(file)]) {
      const e = await dataErrorOf(p);
      expect(e.file).toBe(file);
      expect(e.message).toContain('truncated');
      expect(e.message).toContain(`byte ${third.offset}`);
      expect(e.message).toContain(`ends at byte ${cut}`);
    }
    // Cut inside a header.
    const header = third.offset - 512;
    const file2 = join(dir, 'cut-header.tar');
    writeFileSync(file2, readFileSync(src).subarray(0, header + 100));
    const e2 = await dataErrorOf(listTarImages(file2));
    expect(e2.message).toContain(`header at byte ${header}`);
    expect(e2.oneLine()).toContain(file2);
  });

  it('a corrupt header is a DataError at its offset, not garbage entries', async () => {
    const src = join(dir, 'ILSVRC2012_img_val.tar');
    const entries = await collect(src);
    const header = entries[4]!.offset - 512;
    const buf = Buffer.from(readFileSync(src));
    buf[header + 10] = buf[header + 10]! ^ 0x55; // flip bits in the name: checksum no longer matches
    const file = join(dir, 'corrupt.tar');
    writeFileSync(file, buf);
    const e = await dataErrorOf(collect(file));
    expect(e.message).toContain(`corrupt tar header at byte ${header}`);
    expect(e.file).toBe(file);
    // A gzip file is not a tar.
    const gz = join(dir, 'val.tar.gz');
    writeFileSync(gz, execFileSync('gzip', ['-c', src], { maxBuffer: 1 << 26 }));
    expect((await dataErrorOf(listTarImages(gz))).message).toContain('corrupt tar header at byte 0');
  });

  it('a missing tar is a DataError, and a random read past the end too', async () => {
    const missing = join(dir, 'nope.tar');
    expect((await dataErrorOf(listTarImages(missing))).message).toContain('ENOENT');
    const src = join(dir, 'ILSVRC2012_img_val.tar');
    const size = statSync(src).size;
    const e = await dataErrorOf(readTarEntry(src, size - 100, 1000));
    expect(e.message).toContain(`ends at byte ${size}`);
  });
});

describe('listTarImages', () => {
  it('indexes the flat ILSVRC2012_img_val.tar in val order with data offsets', async () => {
    const file = join(dir, 'ILSVRC2012_img_val.tar');
    const idx = await listTarImages(file);
    expect(idx.layout).toBe('flat');
    expect(idx.root).toBe('');
    expect(idx.images.map((i) => i.name)).toEqual(names); // sorted, though the tar is not
    expect(idx.images.every((i) => i.wnid === null && i.path === i.name)).toBe(true);
    expect(idx.skipped).toEqual([]);
    expect(idx.duplicates).toEqual([]);
    expect(idx.otherFiles).toBe(0);
    expect(idx.bytes).toBe(statSync(file).size);
    // Concurrent random reads through one handle return each image's exact bytes.
    const t = await TarFile.open(file);
    try {
      const bufs = await Promise.all(idx.images.map((i) => t.read(i.offset, i.size)));
      bufs.forEach((b, k) => expect(b.equals(readFileSync(join(VAL_227, idx.images[k]!.name)))).toBe(true));
    } finally {
      await t.close();
    }
  });

  it('indexes a tar of an ImageFolder tree, with or without val/ and ./ prefixes', async () => {
    const cases: [string, string[], string, string][] = [
      ['tree-val.tar', ['val', 'README.txt'], join(dir, 'tree'), 'val'],
      ['tree-dot.tar', ['.'], join(dir, 'tree', 'val'), ''],
    ];
    for (const [name, members, cwd, root] of cases) {
      const file = join(dir, name);
      tar(['-cf', file, ...members], cwd);
      const idx = await listTarImages(file);
      expect(idx.layout, name).toBe('imagefolder');
      expect(idx.root, name).toBe(root);
      expect(idx.images.map((i) => i.name)).toEqual(names);
      for (const img of idx.images) {
        expect(img.wnid).toBe(wnidOf(img.name));
        expect(img.path).toBe([root, img.wnid, img.name].filter(Boolean).join('/'));
        expect((await readTarEntry(file, img.offset, img.size)).equals(readFileSync(join(VAL_227, img.name)))).toBe(true);
      }
      expect(idx.otherFiles, name).toBe(name === 'tree-val.tar' ? 1 : 0);
    }
  });

  it('picks val/ out of a tar holding train/ and val/, and refuses two unrelated sets', async () => {
    const srcDir = join(dir, 'both');
    mkdirSync(join(srcDir, 'train', 'n01440764'), { recursive: true });
    copyFileSync(join(VAL_227, names[0]!), join(srcDir, 'train', 'n01440764', 'n01440764_1.JPEG'));
    tar(['-cf', join(dir, 'both.tar'), 'train', '-C', join(dir, 'tree'), 'val'], srcDir);
    const idx = await listTarImages(join(dir, 'both.tar'));
    expect(idx.root).toBe('val');
    expect(idx.images).toHaveLength(names.length);
    expect(idx.otherFiles).toBe(1);

    tar(['-cf', join(dir, 'mixed.tar'), names[0]!, '-C', join(dir, 'both'), 'train'], join(dir, 'flat'));
    const e = await dataErrorOf(listTarImages(join(dir, 'mixed.tar')));
    expect(e.message).toContain('more than one image set');
    expect(e.message).toContain('train');

    tar(['-cf', join(dir, 'none.tar'), 'README.txt'], join(dir, 'tree'));
    expect((await dataErrorOf(listTarImages(join(dir, 'none.tar')))).message).toContain('no ImageNet val images');
  });

  it('reports a file stored twice and keeps the last copy, as extraction would', async () => {
    const file = join(dir, 'dup.tar');
    copyFileSync(join(dir, 'ILSVRC2012_img_val.tar'), file);
    // Append a second copy of names[0] holding different bytes (those of names[1]).
    const srcDir = join(dir, 'dup');
    mkdirSync(srcDir);
    copyFileSync(join(VAL_227, names[1]!), join(srcDir, names[0]!));
    tar(['-rf', file, names[0]!], srcDir);
    const idx = await listTarImages(file);
    expect(idx.duplicates).toEqual([names[0]]);
    expect(idx.images).toHaveLength(names.length);
    const img = idx.images.find((i) => i.name === names[0])!;
    expect((await readTarEntry(file, img.offset, img.size)).equals(readFileSync(join(VAL_227, names[1]!)))).toBe(true);
  });
});

describe('no extraction', () => {
  it('reading and indexing write nothing: not beside the tar, not in the cwd, not in TMPDIR', async () => {
    const cwd = mkdtempSync(join(dir, 'cwd-'));
    const tmp = mkdtempSync(join(dir, 'tmp-'));
    const before = snapshot(dir);
    const oldCwd = process.cwd();
    const oldTmp = process.env.TMPDIR;
    process.chdir(cwd);
    process.env.TMPDIR = tmp;
    try {
      expect(tmpdir()).toBe(tmp);
      for (const f of ['ILSVRC2012_img_val.tar', 'tree-val.tar', 'links.tar']) {
        const file = join(dir, f);
        await collect(file);
        if (f !== 'links.tar') {
          const idx = await listTarImages(file);
          await Promise.all(idx.images.map((i) => readTarEntry(file, i.offset, i.size)));
        }
      }
    } finally {
      process.chdir(oldCwd);
      if (oldTmp === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = oldTmp;
    }
    expect(readdirSync(cwd)).toEqual([]);
    expect(readdirSync(tmp)).toEqual([]);
    expect(snapshot(dir)).toEqual(before);
  });
});
