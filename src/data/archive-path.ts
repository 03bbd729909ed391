/**
 * Entry names inside archives (tar, zip) are untrusted: a name that is absolute, climbs out with
 * `..`, or holds a NUL would be unsafe to use as a path below the data root, so such entries are
 * skipped with a reason. Shared by the tar and zip readers.
 */

/** Why a stored name is unsafe to use as a path below the dataset root, or null if it is safe. */
export function unsafeEntryPath(name: string): string | null {
  if (name.length === 0) return 'empty name';
  if (name.includes('\0')) return 'NUL byte in the name';
  if (name.startsWith('/') || name.startsWith('\\') || /^[A-Za-z]:/.test(name)) return 'absolute path';
  // Backslashes count as separators too: the name must be safe on every platform that might see it.
  if (name.split(/[/\\]/).includes('..')) return "'..' component (would escape the dataset folder)";
  if (normaliseEntryPath(name) === '') return 'empty name';
  return null;
}

/** 'a//./b' -> 'a/b'; './x' -> 'x'. Only called on safe names. */
export function normaliseEntryPath(name: string): string {
  return name
    .split('/')
    .filter((p) => p !== '' && p !== '.')
    .join('/');
}

