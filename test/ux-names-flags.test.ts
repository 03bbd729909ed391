/**
 * Issue 10, "Names and flags": what a timm user types on the first day, as a real process.
 * Did-you-mean by prefix and family (case-insensitive names), timm's validate.py flags (aliases for
 * the ones with a zoo meaning, one line for the others), `--json [FILE]` with one meaning in every
 * command, `zoo list` filters and columns, `zoo bench` flags, --expect-top1 fractions, and help
 * that lists only the exit codes a command can return.
 */
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeFlatFolder, runZoo, tempDir, val227Files, writeRecipeCheckpoint, type ZooRun } from './support/cli.js';
import type { TagJson } from '../src/cli/catalogue.js';
import type { EvalResult } from '../src/run/result.js';

let dir: string;
let flat: string;
let weights: string;

beforeAll(async () => {
  dir = await tempDir('zoo-ux-names-');
  flat = await makeFlatFolder(join(dir, 'flat'), await val227Files(8));
  weights = await writeRecipeCheckpoint('rexnet_100', dir);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function oneLineUsage(run: ZooRun): string {
  expect(run.code, run.stderr).toBe(2);
  const lines = run.stderr.trim().split('\n');
  expect(lines, run.stderr).toHaveLength(1);
  expect(run.stderr).not.toMatch(/\bat .*\.js:\d+/);
  return lines[0]!;
}

describe('did you mean (item 3)', () => {
  it('suggests by prefix and family, not by raw edit distance', async () => {
    const line = oneLineUsage(await runZoo(['info', 'resnext50']));
    expect(line).toMatch(/did you mean resnext50_32x4d\b/);
    expect(line).not.toMatch(/rexnet/);
    expect(oneLineUsage(await runZoo(['info', 'resnext101']))).toMatch(/did you mean resnext101_\w+.*\(`zoo list`/);
  }, 60_000);

  it('a timm architecture zoo does not implement says so instead of guessing another family, and how to evaluate it as ONNX', async () => {
    for (const name of ['resnet50', 'vit_base_patch16_224']) {
      const line = oneLineUsage(await runZoo(['eval', name, '--data', flat]));
      expect(line).toMatch(new RegExp(`${name} is a timm architecture .* that zoo does not implement`));
      // ... and how to evaluate it anyway: as an ONNX export (issue 10.3).
      expect(line).toContain(`python onnx_export.py --model ${name} ${name}.onnx`);
      expect(line).toContain(`torch.onnx.export of timm.create_model('${name}', pretrained=True)`);
      expect(line).toContain(`run \`zoo eval ${name}.onnx --data DIR\``);
      expect(line).not.toMatch(/did you mean|rexnet_|resnext50/);
    }
  }, 60_000);

  it('names ignore case', async () => {
    const run = await runZoo(['info', 'REXNET_100', '--json']);
    expect(run.code, run.stderr).toBe(0);
    expect((JSON.parse(run.stdout) as TagJson).name).toBe('rexnet_100.nav_in1k');
  }, 60_000);
});

describe("timm's validate.py flags (item 4)", () => {
  it('accepts --model, --checkpoint, --num-samples, -b, -j, -q, --input-size C H W, --mean/--std lists and --pretrained', async () => {
    const run = await runZoo([
      'eval', '--model', 'rexnet_100', '--pretrained', '--data-dir', flat, '--checkpoint', weights, '--num-samples', '6',
      '-b', '4', '-j', '1', '-q', '--input-size', '3', '224', '224', '--mean', '0.485', '0.456', '0.406', '--std', '0.229', '0.224', '0.225',
      '--threads', '1', '--json',
    ]);
    expect(run.code, run.stderr).toBe(0);
    const r = JSON.parse(run.stdout) as EvalResult;
    expect(r.images).toBe(6);
    expect(r.batch_size).toBe(4);
    expect(r.workers).toBe(1);
    expect(r.img_size).toBe(224);
    expect(r.weights).toBe(weights);
    // -q: no progress lines
    expect(run.stderr).not.toMatch(/\d+\/6 images/);
  }, 120_000);

  it('--input-size that zoo cannot take is one line naming what it can', async () => {
    expect(oneLineUsage(await runZoo(['eval', 'rexnet_100', '--data', flat, '--input-size', '3', '224', '192']))).toMatch(
      /--input-size 3 224 192: zoo evaluates square 3-channel inputs; pass --input-size 3 224 224, or --img-size 224/,
    );
  }, 60_000);

  it('the flags without a zoo meaning get one line saying why and what zoo does instead, exit 2', async () => {
    const cases: [string[], RegExp][] = [
      [['--amp'], /--amp .*does not apply to zoo: zoo evaluates in float32/],
      [['--channels-last'], /--channels-last .*does not apply.*memory layout/],
      [['--torchcompile'], /--torchcompile .*does not apply.*onnxruntime optimises/],
      [['--log-freq', '10'], /--log-freq .*does not apply.*progress is a live bar/],
      [['--topk', '5'], /--topk .*does not apply.*--predictions/],
    ];
    for (const [flags, re] of cases) {
      expect(oneLineUsage(await runZoo(['eval', 'rexnet_100', '--data', flat, ...flags]))).toMatch(re);
    }
  }, 120_000);
});

describe('--json [FILE], one meaning everywhere (item 5)', () => {
  it('no value or - prints JSON on stdout (list, info, engines); a FILE writes it and keeps the table', async () => {
    for (const args of [['list', '--json'], ['list', '--json', '-'], ['info', 'rexnet_100', '--json'], ['engines', '--json', '-']]) {
      const run = await runZoo(args);
      expect(run.code, run.stderr).toBe(0);
      expect(() => JSON.parse(run.stdout), args.join(' ')).not.toThrow();
    }
    const file = join(dir, 'list.json');
    const run = await runZoo(['list', 'rexnet', '--json', file]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^model\s+tag\s+top-1/);
    const rows = JSON.parse(await readFile(file, 'utf8')) as TagJson[];
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.every((r) => r.model.startsWith('rexnet'))).toBe(true);
  }, 120_000);

  it('eval --json - puts the JSON alone on stdout and the table on stderr', async () => {
    const run = await runZoo(['eval', 'rexnet_100', '--data', flat, '--weights', weights, '--limit', '4', '--threads', '1', '--json', '-']);
    expect(run.code, run.stderr).toBe(0);
    expect((JSON.parse(run.stdout) as EvalResult).images).toBe(4);
    expect(run.stderr).toMatch(/top-1/);
  }, 120_000);
});

describe('zoo list (item 6)', () => {
  it('filters by position, glob or text, ignoring case', async () => {
    const models = async (args: string[]) => {
      const run = await runZoo(['list', ...args, '--json']);
      expect(run.code, run.stderr).toBe(0);
      return [...new Set((JSON.parse(run.stdout) as TagJson[]).map((r) => r.model))];
    };
    const resnext = await models(['resnext*']);
    expect(resnext.length).toBeGreaterThan(1);
    expect(resnext.every((m) => m.startsWith('resnext'))).toBe(true);
    expect(await models(['--filter', 'RESNEXT'])).toEqual(resnext);
    expect(await models(['rexnet_1'])).toEqual(['rexnet_100', 'rexnet_130', 'rexnet_150']);
    // A character class matches as in `zoo eval` (one glob matcher, model-specs.ts globRegex).
    expect(await models(['REXNET_[12]00'])).toEqual(['rexnet_100', 'rexnet_200']);
  }, 60_000);

  it('rows only on stdout, the default marker in its own column, the footer on stderr', async () => {
    const run = await runZoo(['list']);
    expect(run.code).toBe(0);
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^model\s+tag\s+top-1\s+top-5\s+params\(M\)\s+size\s+weights\s+default/);
    // awk '{print $3}' is top-1 on every row: a number, or '-' where nothing is published.
    for (const l of lines.slice(2)) expect(l.split(/\s+/)[2], l).toMatch(/^(\d+\.\d{3}|-)$/);
    expect(lines.slice(2).filter((l) => l.split(/\s+/)[7] === '*').length).toBeGreaterThan(10);
    expect(run.stdout).not.toMatch(/pretrained tags/);
    expect(run.stderr).toMatch(/\d+ pretrained tags/);
  }, 60_000);

  it('no command starts stdout with a blank line (`zoo eval ... | head -1` is the table header)', async () => {
    const run = await runZoo(['eval', 'rexnet_100', '--data', flat, '--weights', weights, '--limit', '2', '--threads', '1', '-q']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout.split('\n')[0]).toMatch(/^model\s+tag/);
  }, 120_000);
});

describe('zoo bench flags (item 7)', () => {
  it('help: the first example runs as written (has --data), defaults read as text, not JS arrays', async () => {
    const run = await runZoo(['bench', '--help']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/Examples:\n\s+zoo bench rexnet_100 --data \S+/);
    expect(run.stdout).toMatch(/default: 1,8,32\)/);
    expect(run.stdout).not.toMatch(/default: \[/);
  }, 60_000);
});

describe('values and help (item 8)', () => {
  it('--expect-top1 0.78 is refused: percent expected, did you mean 78?', async () => {
    const line = oneLineUsage(await runZoo(['eval', 'rexnet_100', '--data', flat, '--expect-top1', '0.78']));
    expect(line).toMatch(/read as percent.*did you mean 78\?/);
  }, 60_000);

  it('--image-timeout shows its default; each help lists only the exit codes it can return', async () => {
    const evalHelp = (await runZoo(['eval', '--help'])).stdout;
    expect(evalHelp.replace(/\s+/g, ' ')).toMatch(/--image-timeout <s> .*\(default: 60\)/);
    expect(evalHelp).toMatch(/^ {2}130 /m);
    expect(evalHelp).toMatch(/^ {2}1 {4}accuracy regression/m);
    const listHelp = (await runZoo(['list', '--help'])).stdout;
    expect(listHelp).toMatch(/Exit codes:/);
    expect(listHelp).not.toMatch(/^ {2}(1|3|4|5|130) /m);
  }, 60_000);
});

describe('README "Coming from timm"', () => {
  it("maps every validate.py flag", async () => {
    const readme = await readFile(join(import.meta.dirname, '..', 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## Coming from timm'), readme.indexOf('## Runs you can trust'));
    // validate.py's argparse flags (huggingface/pytorch-image-models, 2025).
    const flags = [
      '--data-dir', '--dataset', '--split', '--num-samples', '--dataset-download', '--class-map', '--input-key', '--input-img-mode',
      '--target-key', '--dataset-trust-remote-code', '--model', '--pretrained', '--workers', '--batch-size', '--img-size', '--in-chans',
      '--input-size', '--use-train-size', '--crop-pct', '--crop-mode', '--crop-border-pixels', '--mean', '--std', '--interpolation',
      '--num-classes', '--gp', '--log-freq', '--checkpoint', '--num-gpu', '--test-pool', '--no-prefetcher', '--pin-mem',
      '--channels-last', '--device', '--amp', '--amp-dtype', '--model-dtype', '--tf-preprocessing', '--use-ema', '--fuser',
      '--fast-norm', '--reparam', '--model-kwargs', '--torchcompile-mode', '--torchscript', '--torchcompile', '--aot-autograd',
      '--results-file', '--results-format', '--real-labels', '--valid-labels', '--retry', '--seed', '--metrics-avg',
      '--naflex-loader', '--naflex-max-seq-len',
    ];
    const rows = section.split('\n').filter((l) => l.startsWith('| `'));
    for (const f of flags) expect(rows.some((r) => r.split('|')[1]!.includes(`\`${f}`)), f).toBe(true);
  });
});
