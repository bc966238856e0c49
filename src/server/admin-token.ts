// The operator's admin token, kept next to the state like a kubeconfig: `<dataDir>/auth/admin.token`, mode
// 0600. The CLI falls back to it when OPSPILOT_TOKEN is unset, so `opspilot get …` works on the same machine.
import { chmodSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export function adminTokenPath(dataDir: string): string {
  return join(dataDir, 'auth', 'admin.token');
}

export function writeAdminToken(dataDir: string, token: string): void {
  const file = adminTokenPath(dataDir);
  mkdirSync(join(dataDir, 'auth'), { recursive: true, mode: 0o700 });
  chmodSync(join(dataDir, 'auth'), 0o700); // mkdir leaves the mode of a folder that exists as it was
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, `${token}\n`, { mode: 0o600 });
  chmodSync(temporary, 0o600);
  renameSync(temporary, file);
}
