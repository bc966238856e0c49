// How the CLI shows what became of a write: nothing extra when it ran at once, the proposal when it waits.
import type { ApplyItem } from '../platform/contracts.js';
import type { Proposal } from '../governance/proposals/contracts.js';

/** The REST answer of every write (apply, delete, scale, …). */
export interface WriteAnswer {
  readonly dryRun: boolean;
  readonly items: ApplyItem[];
  readonly proposal: Proposal | null;
}

export function reportProposal(answer: WriteAnswer, out: (text: string) => void): void {
  const proposal = answer.proposal;
  if (proposal === null) return;
  if (proposal.status === 'pending') {
    out(
      `proposal ${proposal.id} waits for approval: ${proposal.approval.reasons.join('; ')}\n` +
        `  another person approves it with: opspilot proposals approve ${proposal.id}\n`,
    );
  } else if (proposal.status === 'verifying') {
    out(`proposal ${proposal.id} applied; verifying health (opspilot proposals show ${proposal.id})\n`);
  }
}
