// `opspilot audit verify --data-dir`: the audit chain of a stopped server, checked from its data dir (and its
// PostgreSQL database, if it has one) without starting or migrating it.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Config } from '../config/config-schema.js';
import { InvalidError } from '../core/errors.js';
import { AuditCheckpoints } from '../governance/audit/audit-checkpoints.js';
import { auditPaths, readAuditKeys } from '../governance/audit/audit-keys.js';
import { verifyAuditChain, type VerifyResult } from '../governance/audit/audit-verification.js';
import { openDatabase } from '../state/database.js';
import { KyselyStateStore } from '../state/kysely-state-store.js';

export async function verifyAuditOffline(config: Config): Promise<VerifyResult> {
  const { keyFile, checkpointsFile } = auditPaths(config);
  const keys = readAuditKeys(keyFile);
  if (keys === undefined) {
    throw new InvalidError(`there is no audit key at ${keyFile}`, [], {
      hint: 'Pass the server’s --data-dir (or --config, for audit.keyFile). A data dir that no opspilot with keyed audit has run yet has none: start the server once.',
    });
  }
  const url = config.state.url;
  if (url === undefined || url.startsWith('sqlite:')) {
    const file = resolve(config.dataDir, url === undefined ? 'state.db' : url.slice('sqlite:'.length));
    if (!existsSync(file)) {
      throw new InvalidError(`there is no state database at ${file}, but there is an audit key`, [], {
        hint: 'Restore the database from a backup, or point --data-dir / --config at the right one.',
      });
    }
  }
  const { db, dialect } = openDatabase(url, config.dataDir);
  try {
    return await verifyAuditChain({
      records: new KyselyStateStore(db, dialect).audit,
      keys,
      checkpoints: new AuditCheckpoints(checkpointsFile, keys),
    });
  } finally {
    await db.destroy();
  }
}
