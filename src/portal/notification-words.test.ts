import { describe, expect, it } from 'vitest';
import { notificationWords } from './app/notification-words.js';

const session = {
  id: 's1',
  who: 'Practitioner/dr-grey',
  patientId: 'c887c6a9',
  startedAt: '2026-12-07T16:37:34.455Z',
  expiresAt: '2026-12-07T17:37:34.455Z',
};
const context = {
  sessions: [session],
  requests: new Map([['p1', { requester: 'Practitioner/dr-grey', purposes: ['TREAT'] }]]),
  nameOf: (r: string) =>
    r === 'Practitioner/dr-grey' ? 'Dr Meredith Grey, Riverside General Hospital' : 'a clinician',
  when: () => '7 Dec 2026, 17:37',
  forPatient: true,
};

describe('notifications in words, not ids (issue 22)', () => {
  it('names the clinician and the end of an emergency access, in words', () => {
    const words = notificationWords({ kind: 'break-glass', subject: 'break-glass/s1' }, context);
    expect(words).toBe(
      'Dr Meredith Grey, Riverside General Hospital opened emergency access to your records until 7 Dec 2026, 17:37. Every access under it is recorded and reviewed by the privacy officer.',
    );
    expect(
      notificationWords(
        { kind: 'break-glass', subject: 'break-glass/s1' },
        { ...context, forPatient: false },
      ),
    ).toMatch(/to a patient’s record until .* Review it in the review queue\.$/);
  });

  it('names who asks for access and why', () => {
    expect(notificationWords({ kind: 'access-request', subject: 'Consent/p1' }, context)).toBe(
      'Dr Meredith Grey, Riverside General Hospital asks to see your records for your treatment. Answer it on the Sharing page.',
    );
  });

  it('never falls back to ids when the parts are not found', () => {
    for (const n of [
      { kind: 'break-glass', subject: 'break-glass/unknown' },
      { kind: 'access-request', subject: 'Consent/unknown' },
      { kind: 'something-new', subject: 'x/1' },
    ]) {
      const words = notificationWords(n, { ...context, sessions: [], requests: new Map() });
      expect(words).not.toMatch(/Practitioner\/|Patient\/|Consent\/|\d{4}-\d{2}-\d{2}T/);
      expect(words).toMatch(/^[A-Z]/);
    }
  });

  it("says the node's own sentence for a recall, but never a stored line with ids or machine times", () => {
    const recall =
      'Recall notice: the medicine pack dispensed to you on 3 December 2026 has been recalled by its manufacturer. Do not use it; contact your pharmacy.';
    expect(
      notificationWords(
        { kind: 'supply-recall', subject: 'MedicationDispense/d1', message: recall },
        context,
      ),
    ).toBe(recall);
    for (const message of [
      'Recall notice: the medicine pack dispensed to you (MedicationDispense/d1, 2026-12-03) has been recalled.',
      'Observation/o1/_history/2 failed its integrity check',
      'opened at 2026-12-07T17:37:34.455Z',
    ]) {
      expect(notificationWords({ kind: 'supply-recall', subject: 'x/1', message }, context)).toBe(
        'Something happened that concerns your records.',
      );
    }
  });
});
