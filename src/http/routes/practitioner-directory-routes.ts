import { Hono } from 'hono';
import type { Address } from 'viem';
import { requireOperatorToken } from '../require-operator-token.js';

/** A practitioner account of this node that has a ledger address. */
export interface PractitionerAccount {
  readonly address: Address;
  /** `Practitioner/dr-grey`. */
  readonly fhirUser: string;
  readonly username: string;
  readonly disabled: boolean;
}

export interface PractitionerDirectoryDeps {
  readonly adminToken: string;
  readonly accounts: () => Promise<readonly PractitionerAccount[]>;
  /** The name on the account's Practitioner resource ("Dr Meredith Grey"), if it has one. */
  readonly practitionerName: (reference: string) => Promise<string | undefined>;
}

/**
 * `GET /admin/practitioner-directory` (admin token): who each ledger address this node attests is, from
 * its own accounts and Practitioner resources (issue 22: the administration page names practitioners,
 * the address only as a detail). Behind the operator's token because it links the public ledger
 * addresses to people; no other member learns it.
 */
export function createPractitionerDirectoryRoutes(deps: PractitionerDirectoryDeps): Hono {
  const app = new Hono();
  app.use('*', requireOperatorToken(deps.adminToken));
  app.get('/', async (c) => {
    const practitioners = [];
    for (const account of await deps.accounts()) {
      practitioners.push({
        address: account.address,
        practitioner: account.fhirUser,
        name: (await deps.practitionerName(account.fhirUser).catch(() => undefined)) ?? null,
        username: account.username,
        disabled: account.disabled,
      });
    }
    return c.json({ practitioners });
  });
  return app;
}
