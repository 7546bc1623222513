/**
 * Whether a member may release data for a study now, and with which profile: the refusals of issue 18
 * ("Bad input"), each with its reason in `details.reason` and nothing about any patient.
 */
import type { Hex } from 'viem';
import type { AccessContext } from '../../audit/create-audit-event.js';
import { CareLedgerError } from '../../errors/index.js';
import type { DeidProfile } from '../deid-profile.js';
import type { Study } from '../study.js';

function refuse(reason: string, message: string): CareLedgerError {
  return new CareLedgerError('ERR_PRECONDITION_FAILED', `release refused: ${message}`, {
    details: { reason },
  });
}

/** Returns the profile to apply, or throws: unknown study, not its researcher, not open, closed, outside its period, profile. */
export function verifyReleaseAdmission(
  study: Study | undefined,
  requester: AccessContext,
  nowSeconds: number,
  profiles: ReadonlyMap<Hex, DeidProfile>,
): { study: Study; profile: DeidProfile } {
  if (study === undefined) throw new CareLedgerError('ERR_NOT_FOUND', 'no such study');
  if (requester.member === undefined || requester.member.toLowerCase() !== study.researcher.toLowerCase()) {
    throw new CareLedgerError(
      'ERR_FORBIDDEN',
      "release refused: the requester is not the study's researcher",
      {
        details: { reason: 'not-the-researcher' },
      },
    );
  }
  if (study.status === 'closed') throw refuse('study-closed', 'the study is closed');
  if (study.status !== 'open') throw refuse('study-not-open', `the study is ${study.status}, not open`);
  if (nowSeconds < study.notBefore || nowSeconds >= study.notAfter) {
    throw refuse('outside-period', "today is outside the study's period");
  }
  const profile = profiles.get(study.profileHash.toLowerCase() as Hex);
  if (profile === undefined) {
    throw refuse(
      'profile-mismatch',
      "this member has no de-identification profile with the study's profile hash",
    );
  }
  return { study, profile };
}
