/** The stages of `zoo bench`, by name (dependency-free: the CLI reads them when it builds its flags). */
export const BENCH_STAGES = ['decode', 'preprocess', 'fast', 'loader', 'crop-cache', 'inference', 'e2e', 'memory', 'startup', 'sweep', 'reference'] as const;
export type BenchStage = (typeof BENCH_STAGES)[number];
/** What --stages runs by default: all but the sweep, which evaluates several models as child processes (minutes); asked for by name. */
export const DEFAULT_STAGES: readonly BenchStage[] = BENCH_STAGES.filter((s) => s !== 'sweep');
