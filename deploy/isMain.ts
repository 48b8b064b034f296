import { realpathSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Whether the module at `moduleUrl` (its `import.meta.url`) is the script node was started
 * with, so a file can be both a library (imported by tests and the local stack) and an
 * `npm run` script. Paths are compared after resolving symlinks, because `npx tsx` and a
 * symlinked checkout may hand us a different spelling of the same file.
 */
export function isMain(moduleUrl: string, argv1: string | undefined = process.argv[1]): boolean {
  if (argv1 === undefined || argv1 === '') return false;
  return canonical(fileURLToPath(moduleUrl)) === canonical(path.resolve(argv1));
}

function canonical(file: string): string {
  try {
    return realpathSync(file);
  } catch {
    // A path that does not exist cannot be this module; compare it as written.
    return file;
  }
}
