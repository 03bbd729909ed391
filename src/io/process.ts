/**
 * Who a pid is, beyond the number: a pid is reused once its process is gone, so a lock naming a pid
 * (the --state lock, src/io/lock.ts; a download lock, src/models/weights/download-lock.ts) also
 * records its owner's start, and a live pid that started later is another process. Linux gives the
 * start in /proc (boot id, start ticks; boot time from /proc/stat); elsewhere only pid-alive is known.
 */
import { readFileSync } from 'node:fs';

/** Linux's USER_HZ, the unit of /proc/<pid>/stat's start time; 100 on every mainstream architecture. */
const CLOCK_TICKS_PER_S = 100;

function procStartTicks(pid: number): number | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 2 (comm) may hold spaces and parentheses; field 22 (starttime) counts from the last ')'.
    const ticks = Number(s.slice(s.lastIndexOf(')') + 2).split(' ')[19]);
    return Number.isSafeInteger(ticks) ? ticks : undefined;
  } catch {
    return undefined;
  }
}

function bootId(): string {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return '';
  }
}

/** The process's identity beyond its pid: boot id and start ticks, or undefined without /proc. */
export function processStart(pid: number): string | undefined {
  const ticks = procStartTicks(pid);
  return ticks === undefined ? undefined : `${bootId()}:${ticks}`;
}

/** When process `pid` started, in ms since the epoch, or undefined without /proc. */
export function processStartedAtMs(pid: number): number | undefined {
  const ticks = procStartTicks(pid);
  if (ticks === undefined) return undefined;
  try {
    const btime = Number(/^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'))?.[1]);
    return Number.isFinite(btime) ? btime * 1000 + (ticks * 1000) / CLOCK_TICKS_PER_S : undefined;
  } catch {
    return undefined;
  }
}

/** Whether `pid` runs on this host: signal 0 checks without sending anything (EPERM: it runs, as another user). */
export function alive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
