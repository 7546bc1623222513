import { type Address, concat, getAddress, type Hex, keccak256, slice, toBytes } from 'viem';

/**
 * The address a patient's contribution credits for one study go to (decision 0024): derived from the
 * study id and the salt of the grant that put the patient in the study. The salt is 32 random bytes
 * that never reach the chain (decision 0013), known only to the patient and the members that hold the
 * grant's opening, so a reader of the chain cannot link this address to the patient's consent address,
 * nor two studies' credit addresses to each other; every member releasing for the study derives the
 * same one, so the patient's credits add up. Nobody holds a key for it: credits are never moved.
 */
export function studyCreditAddress(studyId: Hex, grantSalt: Hex): Address {
  return getAddress(
    slice(keccak256(concat([toBytes('careledger:credit:'), toBytes(studyId), toBytes(grantSalt)])), 12),
  );
}
