import type { AuthStore, UserDirectory } from '../auth/index.js';

/** The portal's OAuth client: public (PKCE S256, no secret), one per node. */
export const PORTAL_CLIENT_ID = 'careledger-portal';

/**
 * Registers the portal as a public SMART client with redirect URI `<publicUrl>/portal/`, once: a node
 * that already has the client keeps it (a loopback redirect matches any port, RFC 8252 §7.3).
 * Returns false, with the reason, when the public URL cannot be a redirect URI (plain http off the
 * loopback interface): the portal then cannot sign anyone in, and the operator is told why.
 */
export async function registerPortalClient(
  users: UserDirectory,
  store: AuthStore,
  publicUrl: string,
): Promise<{ registered: boolean; reason?: string }> {
  if ((await store.client(PORTAL_CLIENT_ID)) !== undefined) return { registered: true };
  try {
    await users.createClient({
      name: 'CareLedger portal',
      clientId: PORTAL_CLIENT_ID,
      redirectUris: [`${publicUrl.replace(/\/$/, '')}/portal/`],
    });
    return { registered: true };
  } catch (error) {
    return { registered: false, reason: (error as Error).message };
  }
}
