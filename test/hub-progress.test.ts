/**
 * downloadProgress: plain lines every 10% when stderr is not a terminal (CI logs), a cli-progress
 * bar when it is. Streams are in-memory stand-ins that record what was written.
 */
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { downloadProgress } from '../src/cli/download-progress.js';

function recorder(tty: boolean): { stream: NodeJS.WriteStream; text: () => string } {
  let out = '';
  const w = new Writable({
    write(chunk: Buffer | string, _enc, cb) {
      out += chunk.toString();
      cb();
    },
  });
  // What cli-progress uses of a terminal stream.
  const extra = tty
    ? { isTTY: true, columns: 120, cursorTo: () => true, clearLine: () => true, moveCursor: () => true, clearScreenDown: () => true }
    : { isTTY: false };
  Object.assign(w, extra);
  return { stream: w as unknown as NodeJS.WriteStream, text: () => out };
}

describe('downloadProgress', () => {
  it('writes a start line, one line per 10%, and a final line when not a TTY', () => {
    const { stream, text } = recorder(false);
    const p = downloadProgress('rexnet_100.nav_in1k', stream);
    const total = 20 * 1024 * 1024;
    for (let r = 0; r <= total; r += 64 * 1024) p.onProgress(r, total);
    p.done();
    const lines = text().trim().split('\n');
    expect(lines[0]).toBe('zoo: downloading rexnet_100.nav_in1k (20.0 MB)');
    // 10%..90% crossed while running, then the final line at 100%.
    expect(lines).toHaveLength(1 + 9 + 1);
    expect(lines[1]).toMatch(/^zoo: downloading rexnet_100\.nav_in1k: 2\.0\/20\.0 MB \(10%\), [\d.]+ MB\/s$/);
    expect(lines.at(-1)).toMatch(/20\.0\/20\.0 MB \(100%\)/);
  });

  it('says where a resumed download starts, and copes with an unknown size', () => {
    const { stream, text } = recorder(false);
    const p = downloadProgress('x', stream);
    const MB = 1024 * 1024;
    p.onProgress(5 * MB, undefined);
    for (let r = 5 * MB; r <= 120 * MB; r += MB) p.onProgress(r, undefined);
    p.done();
    const lines = text().trim().split('\n');
    expect(lines[0]).toBe('zoo: downloading x, resuming at 5.0 MB');
    // A line per 50 MB crossed (50, 100), then the final one.
    expect(lines.slice(1).map((l) => l.replace(/, [\d.]+ MB\/s$/, ''))).toEqual([
      'zoo: downloading x: 50.0 MB',
      'zoo: downloading x: 100.0 MB',
      'zoo: downloading x: 120.0 MB',
    ]);
  });

  it('draws a bar on a TTY', () => {
    const { stream, text } = recorder(true);
    const p = downloadProgress('tf_efficientnetv2_s.in21k_ft_in1k', stream);
    p.onProgress(0, 1000);
    p.onProgress(1000, 1000);
    p.done();
    expect(text()).toContain('tf_efficientnetv2_s.in21k_ft_in1k');
    expect(text()).toContain('100%');
    expect(text()).toMatch(/[█░]{24}/);
  });

  it('prints nothing when nothing was downloaded', () => {
    const { stream, text } = recorder(false);
    downloadProgress('x', stream).done();
    expect(text()).toBe('');
  });
});
