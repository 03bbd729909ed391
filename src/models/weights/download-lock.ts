/**
 * One download per cache file at a time across processes (two evals started together would
 * otherwise write the same .part). `<file>.lock` holds its owner as JSON: pid, host, the
 * process's start (boot id and start time from /proc) and when the lock was taken.
 *
 * A lock is stale, and taken over with a line saying why, when its owner cannot be the process
 * that took it: the pid is gone; the pid is this process's own (zoo as PID 1 in a container,
 * killed mid-download and restarted); the process now holding that pid started after the lock
 * was taken (the pid was reused); or it was taken on another host, whose pids mean nothing here.
 * A live owner is waited for, said once on stderr, and only while its `.part` keeps growing:
 * a holder that makes no progress for the stall window, or a wait past the download deadline,
 * ends in an error naming the lock.
 */
import { open, readFile, rm, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { WeightsError } from '../../errors.js';
import { alive, processStart, processStartedAtMs } from '../../io/process.js';

export interface LockOwner {
  pid: number;
  /** undefined for a lock written by an older zoo (a bare pid). */
  host?: string;
  /** "<boot id>:<start ticks>" of the owner process where /proc exists. */
  start?: string;
  /** When the lock was taken (ms since the epoch). */
  since: number;
}

/** A lock file without an owner yet is one being written this instant, unless it is older than this. */
const CREATING_MS = 10_000;
const POLL_MS = 250;

/** Locks this process holds now: a lock naming our pid that is not one of them was left by a previous process. */
const held = new Set<string>();

/** The owner a lock file names: JSON from this zoo, a bare pid from older ones, undefined if neither. */
export function parseLockOwner(text: string, mtimeMs: number): LockOwner | undefined {
  if (/^\s*\d+\s*$/.test(text)) return { pid: Number(text), since: mtimeMs };
  try {
    const o = JSON.parse(text) as Partial<LockOwner>;
    if (!Number.isSafeInteger(o.pid)) return undefined;
    return {
      pid: o.pid!,
      ...(typeof o.host === 'string' ? { host: o.host } : {}),
      ...(typeof o.start === 'string' ? { start: o.start } : {}),
      since: typeof o.since === 'number' ? o.since : mtimeMs,
    };
  } catch {
    return undefined;
  }
}

/** Why the lock's owner cannot be holding it any more, or undefined when it may be. */
export function staleReason(owner: LockOwner, lock: string): string | undefined {
  if (owner.host !== undefined && owner.host !== hostname()) {
    return `it was taken on host ${owner.host}, whose processes cannot be checked from ${hostname()}`;
  }
  if (owner.pid === process.pid && !held.has(lock)) return `it names pid ${owner.pid}, which is this process (a previous run with the same pid was killed)`;
  if (!alive(owner.pid)) return `its process ${owner.pid} is gone`;
  const now = owner.start !== undefined ? processStart(owner.pid) : undefined;
  if (now !== undefined && now !== owner.start) return `pid ${owner.pid} now belongs to another process`;
  // The lock predates the process now holding that pid (1 s of slack for clock-tick rounding).
  const started = processStartedAtMs(owner.pid);
  if (started !== undefined && owner.since < started - 1000) return `it is older than process ${owner.pid}, which reused the pid`;
  return undefined;
}

export interface LockOptions {
  signal?: AbortSignal | undefined;
  /** Give up when the owner's .part has not grown for this long. */
  stallMs: number;
  /** Give up after waiting this long in all. */
  deadlineMs: number;
  /** A line for the user: waiting for another process, or taking over its stale lock. */
  onNotice?: ((line: string) => void) | undefined;
}

const describe = (o: LockOwner) => `pid ${o.pid}${o.host !== undefined ? ` on ${o.host}` : ''}, since ${new Date(o.since).toISOString()}`;

/** Takes `<dest>.lock`, waiting for a live owner as described above; returns its release. */
export async function lockDownload(dest: string, opts: LockOptions): Promise<() => Promise<void>> {
  const lock = `${dest}.lock`;
  const part = `${dest}.part`;
  const waitStarted = Date.now();
  let announced = false;
  let progress = '';
  let progressAt = Date.now();
  for (;;) {
    try {
      const fh = await open(lock, 'wx');
      const me: LockOwner = { pid: process.pid, host: hostname(), since: Date.now() };
      const start = processStart(process.pid);
      await fh.writeFile(JSON.stringify(start !== undefined ? { ...me, start } : me));
      await fh.close();
      held.add(lock);
      return async () => {
        held.delete(lock);
        await rm(lock, { force: true });
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new WeightsError(`cannot write to the cache (${(e as NodeJS.ErrnoException).code ?? String(e)})`, {
          file: lock,
          fix: 'set ZOO_CACHE to a writable folder',
        });
      }
    }
    const text = await readFile(lock, 'utf8').catch(() => '');
    const mtime = (await stat(lock).catch(() => undefined))?.mtimeMs;
    if (mtime === undefined) continue; // released between our attempts
    const owner = parseLockOwner(text, mtime);
    const stale = owner ? staleReason(owner, lock) : Date.now() - mtime > CREATING_MS ? 'it names no owner' : undefined;
    if (stale !== undefined) {
      opts.onNotice?.(`zoo: taking over the download lock ${lock}: ${stale}`);
      await rm(lock, { force: true });
      continue;
    }
    if (owner && !announced) {
      announced = true;
      opts.onNotice?.(`zoo: waiting for another zoo (${describe(owner)}) that is downloading ${dest}`);
    }
    // Progress: the owner's .part growing (or a new owner).
    const now = `${text}|${(await stat(part).catch(() => undefined))?.size ?? -1}`;
    if (now !== progress) {
      progress = now;
      progressAt = Date.now();
    }
    const holder = owner ? `another zoo (${describe(owner)})` : 'another process';
    const fix = `wait for it to finish and run again; if no other zoo is downloading this file, delete ${lock}`;
    if (Date.now() - progressAt > opts.stallMs) {
      throw new WeightsError(`${holder} holds the download lock and made no progress for ${opts.stallMs / 1000} s`, { file: lock, fix });
    }
    if (Date.now() - waitStarted > opts.deadlineMs) {
      throw new WeightsError(`${holder} still holds the download lock after ${opts.deadlineMs / 1000} s (ZOO_DOWNLOAD_TIMEOUT)`, { file: lock, fix });
    }
    if (opts.signal?.aborted) throw opts.signal.reason;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}
