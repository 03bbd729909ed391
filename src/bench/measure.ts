/**
 * Timing and memory primitives for the bench: a rate measured over whole units of work until both a
 * minimum time and a minimum count have passed, and an RSS sampler that records (images, RSS) pairs
 * so peak and growth per 1,000 images can be read off a long run.
 */

export interface Rate {
  imagesPerSecond: number;
  images: number;
  seconds: number;
  /**
   * CPU time of the whole process over the same span (all its threads: libuv's, libvips', GC), for the
   * one-core stages: images per CPU-second is "per core" even on a machine others are loading,
   * where wall-clock rates swing with their work.
   */
  cpuSeconds?: number;
  imagesPerCpuSecond?: number;
}

/**
 * Calls `step` (which does some work and returns how many images it covered) until at least
 * `minSeconds` and `minImages` are reached. `warmup` steps run first and are not counted.
 */
export async function measureRate(
  step: () => Promise<number>,
  opts: { minSeconds: number; minImages: number; warmup?: number },
): Promise<Rate> {
  for (let i = 0; i < (opts.warmup ?? 0); i++) await step();
  const start = performance.now();
  const cpuStart = process.cpuUsage();
  let images = 0;
  for (;;) {
    images += await step();
    const seconds = (performance.now() - start) / 1000;
    if (seconds >= opts.minSeconds && images >= opts.minImages) {
      const cpu = process.cpuUsage(cpuStart);
      const cpuSeconds = (cpu.user + cpu.system) / 1e6;
      return { imagesPerSecond: images / seconds, images, seconds, cpuSeconds, imagesPerCpuSecond: images / cpuSeconds };
    }
  }
}

export interface RssPoint {
  images: number;
  rssBytes: number;
}

export interface MemoryFigures {
  peakRssMB: number;
  /** RSS after the first `skip` images. */
  rssAtSkipMB: number;
  finalRssMB: number;
  /** Least-squares slope of RSS against images after the first `skip`, in MB per 1,000 images. */
  slopeMBPer1000: number | null;
  skipImages: number;
  points: number;
}

export const MB = 1024 * 1024;

/** Linear-regression slope of RSS over images for the points past `skip` images. */
export function memoryFigures(points: readonly RssPoint[], skip: number): MemoryFigures {
  const peak = points.reduce((m, p) => Math.max(m, p.rssBytes), 0);
  const tail = points.filter((p) => p.images >= skip);
  let slope: number | null = null;
  if (tail.length >= 3) {
    const mx = tail.reduce((s, p) => s + p.images, 0) / tail.length;
    const my = tail.reduce((s, p) => s + p.rssBytes, 0) / tail.length;
    let num = 0;
    let den = 0;
    for (const p of tail) {
      num += (p.images - mx) * (p.rssBytes - my);
      den += (p.images - mx) ** 2;
    }
    if (den > 0) slope = ((num / den) * 1000) / MB;
  }
  return {
    peakRssMB: peak / MB,
    rssAtSkipMB: (tail[0]?.rssBytes ?? points.at(-1)?.rssBytes ?? 0) / MB,
    finalRssMB: (points.at(-1)?.rssBytes ?? 0) / MB,
    slopeMBPer1000: slope,
    skipImages: skip,
    points: points.length,
  };
}
