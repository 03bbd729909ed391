/**
 * Issue 10.13: field names in the JSON files users read are snake_case at every depth (the eval
 * result with its eval_config and config_sources, merge output, list/info/cache --json), and the
 * camelCase names files held before stay readable for one release where zoo reads its own files
 * (zoo merge, --baseline). Real processes on the embedded model and the built-in sample.
 */
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { camelKeys } from '../src/io/json-keys.js';
import { runZoo, tempDir } from './support/cli.js';
import { camelCaseKeyPaths } from './support/json-keys.js';

type Json = Record<string, unknown>;

const EVAL = ['eval', 'mobilenetv2-12-int8', '--data', 'sample', '--limit', '8', '-q', '--threads', '1'];

/** A result as zoo wrote it before 10.13: the code's camelCase names inside its blocks. */
function oldStyle(r: Json): Json {
  const id = r.identity as Json;
  return {
    ...r,
    eval_config: camelKeys(r.eval_config),
    config_sources: camelKeys(r.config_sources),
    metrics_state: camelKeys(r.metrics_state),
    identity: { ...id, eval_config: camelKeys(id.eval_config) },
  };
}

let dir: string;
const shards: Json[] = [];

beforeAll(async () => {
  dir = await tempDir('zoo-json-names-');
  for (const s of ['1/2', '2/2']) {
    const run = await runZoo([...EVAL, '--shard', s, '--json', '-']);
    expect(run.code, run.stderr).toBe(0);
    shards.push(JSON.parse(run.stdout) as Json);
  }
}, 120_000);
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('snake_case everywhere users read JSON', () => {
  it('zoo eval --json: no camelCase key at any depth; eval_config in timm names', () => {
    for (const r of shards) {
      expect(camelCaseKeyPaths(r)).toEqual([]);
      expect(Object.keys(r.eval_config as Json).sort()).toEqual(['crop_mode', 'crop_pct', 'input_size', 'interpolation', 'mean', 'std']);
      expect(r.eval_config).toMatchObject({ input_size: [3, 224, 224], crop_pct: 0.875 });
      expect((r.identity as Json).eval_config).toEqual(r.eval_config);
      expect(r.metrics_state).toMatchObject({ num_classes: 1000, images: r.images, top1_correct: r.top1_correct });
      expect(Object.keys(r.config_sources as Json)).toContain('input_size');
    }
  });

  it('list, info and cache --json: no camelCase key', async () => {
    for (const args of [['list', '--json'], ['info', 'rexnet_100', '--json'], ['cache', '--json']]) {
      const run = await runZoo(args);
      expect(run.code, `${args.join(' ')}: ${run.stderr}`).toBe(0);
      expect(camelCaseKeyPaths(JSON.parse(run.stdout)), args.join(' ')).toEqual([]);
    }
  }, 60_000);
});

describe('old camelCase results stay readable (one release)', () => {
  it('zoo merge takes an old-style shard beside a new one and writes snake_case', async () => {
    const a = join(dir, 'a.json');
    const b = join(dir, 'b.json');
    await writeFile(a, JSON.stringify(oldStyle(shards[0]!)));
    await writeFile(b, JSON.stringify(shards[1]));
    expect(camelCaseKeyPaths(JSON.parse(await readFile(a, 'utf8')))).not.toEqual([]);
    const out = join(dir, 'merged.json');
    const run = await runZoo(['merge', a, b, '--json', out]);
    expect(run.code, run.stderr).toBe(0);
    const m = JSON.parse(await readFile(out, 'utf8')) as Json;
    expect(camelCaseKeyPaths(m)).toEqual([]);
    expect(m.images).toBe((shards[0]!.images as number) + (shards[1]!.images as number));
    expect(m.eval_config).toEqual(shards[0]!.eval_config);
  }, 60_000);

  it('--baseline accepts an old-style result', async () => {
    const whole = await runZoo([...EVAL, '--json', '-']);
    expect(whole.code, whole.stderr).toBe(0);
    const base = join(dir, 'base.json');
    await writeFile(base, JSON.stringify(oldStyle(JSON.parse(whole.stdout) as Json)));
    const run = await runZoo([...EVAL, '--baseline', base]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/baseline/);
  }, 60_000);
});
