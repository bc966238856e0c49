// Checks a working directory before a process is started in it, for a message people can act on
// (spawn reports a missing or wrong cwd as ENOENT/ENOTDIR of the command).
import { statSync } from 'node:fs';

/** Why a working directory cannot be used, or undefined when it can. */
export function checkDirectory(path: string | undefined): string | undefined {
  if (path === undefined) return undefined;
  try {
    return statSync(path).isDirectory() ? undefined : `working directory ${path} is not a directory`;
  } catch {
    return `working directory ${path} does not exist`;
  }
}
