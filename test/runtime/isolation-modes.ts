// Which isolation modes of the local runtime this machine can run, so that each is tested where it is possible.
import { execFileSync } from 'node:child_process';

export type RunnableIsolation = 'user' | 'sandbox';

/** "user" needs root (to switch to an unprivileged uid); "sandbox" needs a working bubblewrap. */
export function runnableIsolationModes(): RunnableIsolation[] {
  const modes: RunnableIsolation[] = [];
  if (process.getuid?.() === 0) modes.push('user');
  try {
    execFileSync('bwrap', ['--ro-bind', '/', '/', '--dev', '/dev', '--', 'true'], { stdio: 'ignore' });
    modes.push('sandbox');
  } catch {
    // no bubblewrap here, or it cannot create namespaces
  }
  return modes;
}
