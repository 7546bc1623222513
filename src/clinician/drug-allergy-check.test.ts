import type { AllergyIntolerance, MedicationRequest } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { toErrorResponse } from '../http/error-response.js';
import {
  ALLERGY_OVERRIDE_EXTENSION,
  createDrugAllergyCheck,
  matchingAllergies,
  RXNORM,
} from './drug-allergy-check.js';

const penicillin: AllergyIntolerance = {
  resourceType: 'AllergyIntolerance',
  id: 'a1',
  patient: { reference: 'Patient/p1' },
  clinicalStatus: { coding: [{ code: 'active' }] },
  code: { coding: [{ system: RXNORM, code: '7980', display: 'Penicillin G' }] },
};
const request = (code: string, extra: Partial<MedicationRequest> = {}): MedicationRequest => ({
  resourceType: 'MedicationRequest',
  status: 'active',
  intent: 'order',
  subject: { reference: 'Patient/p1' },
  medicationCodeableConcept: { coding: [{ system: RXNORM, code }] },
  ...extra,
});
const clinician = { who: 'Practitioner/dr-1', purpose: 'TREAT' };
const check = createDrugAllergyCheck(async () => [penicillin]);

describe('drug–allergy check', () => {
  it('matches an active allergy by RxNorm code, not a refuted or resolved one', () => {
    expect(matchingAllergies(request('7980'), [penicillin])).toHaveLength(1);
    expect(matchingAllergies(request('723'), [penicillin])).toHaveLength(0);
    const resolved = { ...penicillin, clinicalStatus: { coding: [{ code: 'resolved' }] } };
    const refuted = { ...penicillin, verificationStatus: { coding: [{ code: 'refuted' }] } };
    expect(matchingAllergies(request('7980'), [resolved, refuted])).toHaveLength(0);
  });

  it('refuses with 409 and an OperationOutcome warning, naming the allergy record, not its content', async () => {
    const error = await check(request('7980'), clinician).catch((e: unknown) => e);
    const { status, body } = toErrorResponse(error);
    expect(status).toBe(409);
    const text = JSON.stringify(body);
    expect(text).toContain('"severity":"warning"');
    expect(text).not.toContain('Penicillin');
  });

  it('lets the prescription through with a stated override reason, or when nothing matches', async () => {
    await expect(
      check(
        request('7980', {
          extension: [{ url: ALLERGY_OVERRIDE_EXTENSION, valueString: 'desensitised 2025, tolerated' }],
        }),
        clinician,
      ),
    ).resolves.toBeUndefined();
    await expect(check(request('723'), clinician)).resolves.toBeUndefined();
    await expect(check(request('7980', { status: 'cancelled' }), clinician)).resolves.toBeUndefined();
  });
});
