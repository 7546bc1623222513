import { evaluateTotp, isPasswordCorrect } from '../identity/index.js';
import type { UserAccount } from './auth-store.js';
import type { AttemptSource, AuthServerDeps } from './authorization-server-options.js';
import { oauthError } from './oauth-error.js';

type Deps = Pick<AuthServerDeps, 'options' | 'now' | 'throttle'>;

/**
 * Password, then TOTP (RFC 6238, a code never accepted twice), then for a practitioner the ledger
 * attestation of their credential. One vague message for a wrong username or password. Throttled
 * per username typed (existing or not) and per source address, before the password is checked.
 */
export async function authenticateUser(
  deps: Deps,
  username: string,
  password: string,
  totp: string,
  source: AttemptSource = {},
): Promise<UserAccount> {
  const user = await deps.options.store.userByUsername(username);
  const attempt = await deps.throttle.begin(
    [
      { scope: 'account', id: username },
      ...(source.address === undefined ? [] : [{ scope: 'client' as const, id: source.address }]),
    ],
    user?.fhirUser,
  );
  try {
    // Hash even for an unknown user, so timing does not reveal which usernames exist.
    const passwordOk = await isPasswordCorrect(
      password,
      user?.passwordHash ??
        '$scrypt$ln=15,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
    ).catch(() => false);
    if (user === undefined || !passwordOk || user.disabled) {
      throw oauthError('access_denied', 'wrong username or password', 'ERR_UNAUTHENTICATED');
    }
    await checkSecondFactor(deps, user, totp);
  } catch (error) {
    await attempt.failed();
    throw error;
  }
  await attempt.succeeded();
  if (user.fhirUser.startsWith('Practitioner/')) {
    const attested =
      user.ledgerAddress !== undefined &&
      (await (deps.options.isPractitionerAttested?.(user.ledgerAddress) ?? Promise.resolve(false)));
    if (!attested) {
      throw oauthError(
        'access_denied',
        "this practitioner's credential is not attested on the ledger by this member",
        'ERR_FORBIDDEN',
      );
    }
  }
  return user;
}

/**
 * Checks a TOTP code for the user and consumes its time step (a replayed code fails). Throttled per
 * user wherever the code is checked (sign-in, break-glass) and, given a source, per address: a
 * 6-digit code falls to a million guesses otherwise (RFC 4226 §7.3, RFC 6238 §5.2).
 */
export async function checkSecondFactor(
  deps: Deps,
  user: UserAccount,
  code: string,
  source?: AttemptSource,
): Promise<void> {
  if (user.totpSealed === undefined) {
    throw oauthError(
      'access_denied',
      'a second factor is required and none is enrolled',
      'ERR_UNAUTHENTICATED',
    );
  }
  const attempt = await deps.throttle.begin(
    [
      { scope: 'second-factor', id: user.id },
      ...(source?.address === undefined ? [] : [{ scope: 'client' as const, id: source.address }]),
    ],
    user.fhirUser,
  );
  const secret = await deps.options.openSecret(user.totpSealed);
  const result = evaluateTotp(code.trim(), secret, deps.now(), {
    ...(user.totpLastStep === undefined ? {} : { lastUsedStep: user.totpLastStep }),
  });
  // The step is consumed in one statement: of two sign-ins with the same code, one wins.
  if (!result.valid || !(await deps.options.store.consumeTotpStep(user.id, result.step))) {
    await attempt.failed();
    throw oauthError(
      'access_denied',
      'the one-time code is wrong, expired or already used',
      'ERR_UNAUTHENTICATED',
    );
  }
  await attempt.succeeded();
}
