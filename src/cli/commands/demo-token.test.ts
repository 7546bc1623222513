import { describe, expect, it } from 'vitest';
import { msUntilUnusedTotpStep } from './demo-token.js';

describe('msUntilUnusedTotpStep', () => {
  const step = 59_000_000; // a TOTP step: 30 s from step * 30_000 ms

  it('does not wait when no sign-in used the current step', () => {
    expect(msUntilUnusedTotpStep(undefined, step * 30_000 + 5_000)).toBe(0);
    expect(msUntilUnusedTotpStep(step - 1, step * 30_000)).toBe(0);
  });

  it('waits for the next step after a sign-in in this one', () => {
    expect(msUntilUnusedTotpStep(step, step * 30_000)).toBe(30_000);
    expect(msUntilUnusedTotpStep(step, step * 30_000 + 29_999)).toBe(1);
  });
});
