import type {
  AuthorizationCode,
  AuthStore,
  Notification,
  OAuthClient,
  RefreshToken,
  TokenStatus,
  UserAccount,
} from '../../auth/auth-store.js';
import type { ThrottleCount, ThrottlePolicy, ThrottleState } from '../../auth/sign-in-throttle.js';
import { throttleCountSql, throttleTakeBackSql, windowCountSql } from '../auth-throttle-sql.js';
import type { PostgresDatabase } from './postgres-database.js';

type Row = { body: string };
type ThrottleRow = { failures: number; locked_until: number; last_failure_at: number };

function throttleState(row: ThrottleRow): ThrottleState {
  return { failures: row.failures, lockedUntil: row.locked_until, lastFailureAt: row.last_failure_at };
}

const parse = <T>(row: Row | undefined): T | undefined =>
  row === undefined ? undefined : (JSON.parse(row.body) as T);

/**
 * The authorization server's tables on PostgreSQL (schema version 1; the rate windows in 4). Same
 * rows as the SQLite adapter; each method is one statement, so node processes sharing the database
 * see one another's revocations, used codes and throttle counts at once. A partial update of a user
 * or client merges JSON in the statement itself (`body::jsonb || $2`), never a read then a write.
 */
export class PostgresAuthStore implements AuthStore {
  private readonly throttleStatements = new Map<ThrottlePolicy, string>();

  constructor(private readonly db: PostgresDatabase) {}

  async insertUser(user: UserAccount): Promise<void> {
    await this.db.execute('INSERT INTO auth_users (id, username, fhir_user, body) VALUES ($1, $2, $3, $4)', [
      user.id,
      user.username,
      user.fhirUser,
      JSON.stringify(user),
    ]);
  }

  private async userWhere(column: 'id' | 'username' | 'fhir_user', value: string) {
    const [row] = await this.db.query<Row>(`SELECT body FROM auth_users WHERE ${column} = $1`, [value]);
    return parse<UserAccount>(row);
  }

  userById(id: string): Promise<UserAccount | undefined> {
    return this.userWhere('id', id);
  }

  userByUsername(username: string): Promise<UserAccount | undefined> {
    return this.userWhere('username', username);
  }

  userByFhirUser(fhirUser: string): Promise<UserAccount | undefined> {
    return this.userWhere('fhir_user', fhirUser);
  }

  async updateUser(id: string, changes: Partial<UserAccount>): Promise<void> {
    await this.db.execute('UPDATE auth_users SET body = (body::jsonb || $2::jsonb)::text WHERE id = $1', [
      id,
      JSON.stringify(changes),
    ]);
  }

  async consumeTotpStep(id: string, step: number): Promise<boolean> {
    const changed = await this.db.execute(
      `UPDATE auth_users SET body = jsonb_set(body::jsonb, '{totpLastStep}', to_jsonb($2::bigint))::text
       WHERE id = $1 AND COALESCE((body::jsonb ->> 'totpLastStep')::bigint, -1) < $2::bigint`,
      [id, step],
    );
    return changed === 1;
  }

  async listUsers(): Promise<UserAccount[]> {
    const rows = await this.db.query<Row>('SELECT body FROM auth_users ORDER BY username COLLATE "C"');
    return rows.map((row) => JSON.parse(row.body) as UserAccount);
  }

  async insertClient(client: OAuthClient): Promise<void> {
    await this.db.execute('INSERT INTO auth_clients (client_id, body) VALUES ($1, $2)', [
      client.clientId,
      JSON.stringify(client),
    ]);
  }

  async client(clientId: string): Promise<OAuthClient | undefined> {
    const [row] = await this.db.query<Row>('SELECT body FROM auth_clients WHERE client_id = $1', [clientId]);
    return parse<OAuthClient>(row);
  }

  async listClients(): Promise<OAuthClient[]> {
    const rows = await this.db.query<Row>('SELECT body FROM auth_clients ORDER BY client_id COLLATE "C"');
    return rows.map((row) => JSON.parse(row.body) as OAuthClient);
  }

  async updateClient(clientId: string, changes: Partial<Pick<OAuthClient, 'status'>>): Promise<void> {
    await this.db.execute(
      'UPDATE auth_clients SET body = (body::jsonb || $2::jsonb)::text WHERE client_id = $1',
      [clientId, JSON.stringify(changes)],
    );
  }

  async deleteClient(clientId: string): Promise<boolean> {
    return (await this.db.execute('DELETE FROM auth_clients WHERE client_id = $1', [clientId])) === 1;
  }

  async throttleState(keyHash: string): Promise<ThrottleState | undefined> {
    const [row] = await this.db.query<ThrottleRow>(
      'SELECT failures, locked_until, last_failure_at FROM auth_throttle WHERE key_hash = $1',
      [keyHash],
    );
    return row === undefined ? undefined : throttleState(row);
  }

  async countThrottleAttempt(keyHash: string, policy: ThrottlePolicy, now: number): Promise<ThrottleCount> {
    let sql = this.throttleStatements.get(policy);
    if (sql === undefined) {
      sql = throttleCountSql(policy, { key: '$1', now: '$2::bigint', least: 'LEAST' });
      this.throttleStatements.set(policy, sql);
    }
    const [row] = await this.db.query<ThrottleRow>(sql, [keyHash, now]);
    if (row !== undefined) return { counted: true, state: throttleState(row) };
    return { counted: false, lockedUntil: (await this.throttleState(keyHash))?.lockedUntil ?? 0 };
  }

  async takeBackThrottleAttempt(keyHash: string, lockedUntil: number): Promise<void> {
    await this.db.transaction(async (tx) => {
      await tx.execute(throttleTakeBackSql({ key: '$1', lockedUntil: '$2::bigint' }), [keyHash, lockedUntil]);
      await tx.execute('DELETE FROM auth_throttle WHERE key_hash = $1 AND failures <= 0', [keyHash]);
    });
  }

  async clearThrottleState(keyHash: string): Promise<void> {
    await this.db.execute('DELETE FROM auth_throttle WHERE key_hash = $1', [keyHash]);
  }

  async countInWindow(keyHash: string, windowStart: number): Promise<number> {
    const [row] = await this.db.query<{ hits: number }>(
      windowCountSql({ key: '$1', windowStart: '$2::bigint', greatest: 'GREATEST' }),
      [keyHash, windowStart],
    );
    return row?.hits ?? 0;
  }

  async insertCode(code: AuthorizationCode): Promise<void> {
    await this.db.execute('INSERT INTO auth_codes (code_hash, body) VALUES ($1, $2)', [
      code.codeHash,
      JSON.stringify(code),
    ]);
  }

  async code(codeHash: string): Promise<AuthorizationCode | undefined> {
    const [row] = await this.db.query<Row & { used_at: number | null; family: string | null }>(
      'SELECT body, used_at, family FROM auth_codes WHERE code_hash = $1',
      [codeHash],
    );
    if (row === undefined) return undefined;
    return {
      ...(JSON.parse(row.body) as AuthorizationCode),
      ...(row.used_at === null ? {} : { usedAt: row.used_at }),
      ...(row.family === null ? {} : { family: row.family }),
    };
  }

  async redeemCode(codeHash: string, at: number, family: string | undefined): Promise<boolean> {
    const changed = await this.db.execute(
      'UPDATE auth_codes SET used_at = $1, family = $2 WHERE code_hash = $3 AND used_at IS NULL',
      [at, family ?? null, codeHash],
    );
    return changed === 1;
  }

  async insertRefreshToken(token: RefreshToken): Promise<void> {
    await this.db.execute('INSERT INTO auth_refresh_tokens (token_hash, family, body) VALUES ($1, $2, $3)', [
      token.tokenHash,
      token.family,
      JSON.stringify(token),
    ]);
  }

  async refreshToken(tokenHash: string): Promise<RefreshToken | undefined> {
    const [row] = await this.db.query<Row & { rotated_at: number | null; revoked_at: number | null }>(
      'SELECT body, rotated_at, revoked_at FROM auth_refresh_tokens WHERE token_hash = $1',
      [tokenHash],
    );
    if (row === undefined) return undefined;
    return {
      ...(JSON.parse(row.body) as RefreshToken),
      ...(row.rotated_at === null ? {} : { rotatedAt: row.rotated_at }),
      ...(row.revoked_at === null ? {} : { revokedAt: row.revoked_at }),
    };
  }

  async rotateRefreshToken(tokenHash: string, at: number): Promise<boolean> {
    const changed = await this.db.execute(
      'UPDATE auth_refresh_tokens SET rotated_at = $1 WHERE token_hash = $2 AND rotated_at IS NULL',
      [at, tokenHash],
    );
    return changed === 1;
  }

  async revokeFamily(family: string, at: number): Promise<void> {
    await this.db.transaction(async (tx) => {
      await tx.execute(
        'UPDATE auth_refresh_tokens SET revoked_at = $1 WHERE family = $2 AND revoked_at IS NULL',
        [at, family],
      );
      await tx.execute(
        'INSERT INTO auth_revoked_families (family, revoked_at) VALUES ($1, $2) ON CONFLICT DO NOTHING',
        [family, at],
      );
    });
  }

  async isFamilyRevoked(family: string): Promise<boolean> {
    const rows = await this.db.query('SELECT 1 FROM auth_revoked_families WHERE family = $1', [family]);
    return rows.length > 0;
  }

  async revokeAccessToken(jti: string, expiresAt: number): Promise<void> {
    await this.db.execute('DELETE FROM auth_revoked_tokens WHERE expires_at < $1', [
      Math.floor(Date.now() / 1000) - 3600,
    ]);
    await this.db.execute(
      'INSERT INTO auth_revoked_tokens (jti, expires_at) VALUES ($1, $2) ON CONFLICT DO NOTHING',
      [jti, expiresAt],
    );
  }

  async isAccessTokenRevoked(jti: string): Promise<boolean> {
    const rows = await this.db.query('SELECT 1 FROM auth_revoked_tokens WHERE jti = $1', [jti]);
    return rows.length > 0;
  }

  async tokenStatus(
    jti: string,
    family: string | undefined,
    userId: string | undefined,
    clientId?: string,
  ): Promise<TokenStatus> {
    const [row] = await this.db.query<{ revoked: boolean; body: string | null; client_body: string | null }>(
      `SELECT EXISTS (SELECT 1 FROM auth_revoked_tokens WHERE jti = $1)
           OR EXISTS (SELECT 1 FROM auth_revoked_families WHERE family = $2) AS revoked,
         (SELECT body FROM auth_users WHERE id = $3) AS body,
         (SELECT body FROM auth_clients WHERE client_id = $4) AS client_body`,
      [jti, family ?? null, userId ?? null, clientId ?? null],
    );
    const user = row?.body == null ? undefined : (JSON.parse(row.body) as UserAccount);
    const client = row?.client_body == null ? undefined : (JSON.parse(row.client_body) as OAuthClient);
    return {
      revoked: row?.revoked === true,
      ...(user === undefined ? {} : { user }),
      ...(client === undefined ? {} : { client }),
    };
  }

  async seenAssertion(clientId: string, jti: string, expiresAt: number): Promise<boolean> {
    await this.db.execute('DELETE FROM auth_seen_assertions WHERE expires_at < $1', [
      Math.floor(Date.now() / 1000) - 3600,
    ]);
    const inserted = await this.db.execute(
      `INSERT INTO auth_seen_assertions (client_id, jti, expires_at) VALUES ($1, $2, $3)
       ON CONFLICT DO NOTHING`,
      [clientId, jti, expiresAt],
    );
    return inserted === 0;
  }

  async insertNotification(notification: Notification): Promise<void> {
    await this.db.execute(
      'INSERT INTO notifications (id, recipient, body, created_at) VALUES ($1, $2, $3, $4)',
      [notification.id, notification.recipient, JSON.stringify(notification), notification.createdAt],
    );
  }

  async notifications(recipients: readonly string[]): Promise<Notification[]> {
    if (recipients.length === 0) return [];
    const rows = await this.db.query<Row & { read_at: string | null }>(
      `SELECT body, read_at FROM notifications WHERE recipient = ANY($1::text[])
       ORDER BY created_at COLLATE "C" DESC LIMIT 200`,
      [recipients],
    );
    return rows.map((row) => ({
      ...(JSON.parse(row.body) as Notification),
      ...(row.read_at === null ? {} : { readAt: row.read_at }),
    }));
  }

  async markNotificationRead(id: string, recipients: readonly string[], at: string): Promise<boolean> {
    const changed = await this.db.execute(
      'UPDATE notifications SET read_at = $1 WHERE id = $2 AND recipient = ANY($3::text[])',
      [at, id, recipients],
    );
    return changed > 0;
  }
}
