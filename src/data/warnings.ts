/**
 * The data warnings that change what a result means, and so are said even with --quiet (issue 10
 * item 10: --quiet keeps only those): images counted twice (DUPLICATES), and archive entries that
 * were skipped as unsafe or unsupported (a hostile `..` path, a symlink): the images evaluated are
 * not all the archive holds. INCOMPLETE is said once, in the result table, never as a warning.
 */

/** The words of the skipped-entries warning (dataset.ts for a tar, test-set-data.ts for any archive). */
export const SKIPPED_ENTRIES = 'unsafe or unsupported';

/** The first `k` of a list for a one-line message, `, ...` when there are more. */
export const eg = (xs: readonly string[], k = 3): string => `${xs.slice(0, k).join(', ')}${xs.length > k ? ', ...' : ''}`;

export function changesMeaning(warning: string): boolean {
  return warning.startsWith('DUPLICATES') || warning.includes(`${SKIPPED_ENTRIES} `);
}

/** Whether a data warning is said before the run: never INCOMPLETE (the table's), and with --quiet only meaning-changing ones. */
export function saidBeforeRun(warning: string, quiet: boolean): boolean {
  return !warning.startsWith('INCOMPLETE') && (!quiet || changesMeaning(warning));
}
