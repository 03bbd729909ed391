/**
 * Where a worker thread's script is. Worker threads need JavaScript: Node 20 cannot start a .ts
 * worker, so when the caller runs from src/ (vitest runs the .ts sources) the compiled file under
 * dist/ is started instead. `npm test` builds first for that reason.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * The URL of `script` (a file beside the caller, e.g. 'worker.js'), given the caller's import.meta.url
 * and its folder under src/ (e.g. 'data'); throws, naming `what` and the fix, when it is not built.
 */
export function builtWorkerUrl(callerUrl: string, folder: string, script: string, what: string): URL {
  const url = callerUrl.endsWith('.ts') ? new URL(`../../dist/${folder}/${script}`, callerUrl) : new URL(`./${script}`, callerUrl);
  if (!existsSync(url)) throw new Error(`${what} not built: ${fileURLToPath(url)} is missing; run \`npm run build\``);
  return url;
}
