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
import type { Migration, SqliteDatabase } from './open-database.js';

export const authMigrations: Migration[] = [
  {
    id: 'auth-001',
    sql: `
      CREATE TABLE auth_users (
        id TEXT PRIMARY KEY,
        username TEXT NOT NULL UNIQUE,
        fhir_user TEXT NOT NULL UNIQUE,
        body TEXT NOT NULL
      );
      CREATE TABLE auth_clients (client_id TEXT PRIMARY KEY, body TEXT NOT NULL);
      CREATE TABLE auth_codes (code_hash TEXT PRIMARY KEY, body TEXT NOT NULL, used_at INTEGER, family TEXT);
      CREATE TABLE auth_refresh_tokens (
        token_hash TEXT PRIMARY KEY,
        family TEXT NOT NULL,
        body TEXT NOT NULL,
        rotated_at INTEGER,
        revoked_at INTEGER
      );
      CREATE INDEX auth_refresh_family ON auth_refresh_tokens (family);
      CREATE TABLE auth_revoked_tokens (jti TEXT PRIMARY KEY, expires_at INTEGER NOT NULL);
      CREATE TABLE auth_seen_assertions (
        client_id TEXT NOT NULL,
        jti TEXT NOT NULL,
        expires_at INTEGER NOT NULL,
        PRIMARY KEY (client_id, jti)
      );
      CREATE TABLE notifications (
        id TEXT PRIMARY KEY,
        recipient TEXT NOT NULL,
        body TEXT NOT NULL,
        created_at TEXT NOT NULL,
        read_at TEXT
      );
      CREATE INDEX notifications_recipient ON notifications (recipient, created_at);
    `,
  },
  {
    // Sign-in throttling survives a restart (keys are SHA-256 hashes: no usernames or addresses);
    // a revoked grant revokes the access tokens issued under it, with or without refresh tokens.
    id: 'auth-002',
    sql: `
      CREATE TABLE auth_throttle (
        key_hash TEXT PRIMARY KEY,
        failures INTEGER NOT NULL,
        locked_until INTEGER NOT NULL,
        last_failure_at INTEGER NOT NULL
      );
      CREATE TABLE auth_revoked_families (family TEXT PRIMARY KEY, revoked_at INTEGER NOT NULL);
    `,
  },
  {
    // Token requests per OAuth client per fixed window (the token endpoint's rate limit).
    id: 'auth-003',
    sql: `
      CREATE TABLE auth_rate_windows (
        key_hash TEXT PRIMARY KEY,
        window_start INTEGER NOT NULL,
        hits INTEGER NOT NULL
      );
    `,
  },
];

type Row = { body: string };
type ThrottleRow = { failures: number; locked_until: number; last_failure_at: number };
type Statement = ReturnType<SqliteDatabase['prepare']>;

function throttleState(row: ThrottleRow): ThrottleState {
  return { failures: row.failures, lockedUntil: row.locked_until, lastFailureAt: row.last_failure_at };
}

/**
 * The authorization server's tables; secrets are stored as hashes, TOTP secrets sealed. The methods
 * are async for the adapter-neutral `AuthStore`; each runs its statements synchronously.
 */
export class SqliteAuthStore implements AuthStore {
  private readonly sql;
  private readonly throttleStatements = new Map<ThrottlePolicy, Statement>();

  constructor(private readonly db: SqliteDatabase) {
    this.sql = {
      insertUser: db.prepare('INSERT INTO auth_users (id, username, fhir_user, body) VALUES (?, ?, ?, ?)'),
      userById: db.prepare('SELECT body FROM auth_users WHERE id = ?'),
      userByUsername: db.prepare('SELECT body FROM auth_users WHERE username = ?'),
      userByFhirUser: db.prepare('SELECT body FROM auth_users WHERE fhir_user = ?'),
      updateUser: db.prepare('UPDATE auth_users SET body = ? WHERE id = ?'),
      listUsers: db.prepare('SELECT body FROM auth_users ORDER BY username'),
      insertClient: db.prepare('INSERT INTO auth_clients (client_id, body) VALUES (?, ?)'),
      client: db.prepare('SELECT body FROM auth_clients WHERE client_id = ?'),
      listClients: db.prepare('SELECT body FROM auth_clients ORDER BY client_id'),
      updateClient: db.prepare('UPDATE auth_clients SET body = ? WHERE client_id = ?'),
      deleteClient: db.prepare('DELETE FROM auth_clients WHERE client_id = ?'),
      throttle: db.prepare(
        'SELECT failures, locked_until, last_failure_at FROM auth_throttle WHERE key_hash = ?',
      ),
      takeBack: db.prepare(throttleTakeBackSql({ key: '@key', lockedUntil: '@lockedUntil' })),
      dropSpent: db.prepare('DELETE FROM auth_throttle WHERE key_hash = ? AND failures <= 0'),
      countInWindow: db.prepare(
        windowCountSql({ key: '@key', windowStart: '@windowStart', greatest: 'max' }),
      ),
      consumeTotpStep: db.prepare(
        `UPDATE auth_users SET body = json_set(body, '$.totpLastStep', ?)
         WHERE id = ? AND coalesce(json_extract(body, '$.totpLastStep'), -1) < ?`,
      ),
      tokenStatus: db.prepare(
        `SELECT EXISTS (SELECT 1 FROM auth_revoked_tokens WHERE jti = @jti)
           OR EXISTS (SELECT 1 FROM auth_revoked_families WHERE family = @family) AS revoked,
           (SELECT body FROM auth_users WHERE id = @user) AS body,
           (SELECT body FROM auth_clients WHERE client_id = @client) AS client_body`,
      ),
      clearThrottle: db.prepare('DELETE FROM auth_throttle WHERE key_hash = ?'),
      revokeFamilyAccess: db.prepare(
        'INSERT OR IGNORE INTO auth_revoked_families (family, revoked_at) VALUES (?, ?)',
      ),
      isFamilyRevoked: db.prepare('SELECT 1 FROM auth_revoked_families WHERE family = ?'),
      insertCode: db.prepare('INSERT INTO auth_codes (code_hash, body) VALUES (?, ?)'),
      code: db.prepare('SELECT body, used_at, family FROM auth_codes WHERE code_hash = ?'),
      redeemCode: db.prepare(
        'UPDATE auth_codes SET used_at = ?, family = ? WHERE code_hash = ? AND used_at IS NULL',
      ),
      insertRefresh: db.prepare(
        'INSERT INTO auth_refresh_tokens (token_hash, family, body) VALUES (?, ?, ?)',
      ),
      refresh: db.prepare(
        'SELECT body, rotated_at, revoked_at FROM auth_refresh_tokens WHERE token_hash = ?',
      ),
      rotate: db.prepare(
        'UPDATE auth_refresh_tokens SET rotated_at = ? WHERE token_hash = ? AND rotated_at IS NULL',
      ),
      revokeFamily: db.prepare(
        'UPDATE auth_refresh_tokens SET revoked_at = ? WHERE family = ? AND revoked_at IS NULL',
      ),
      revokeAccess: db.prepare('INSERT OR IGNORE INTO auth_revoked_tokens (jti, expires_at) VALUES (?, ?)'),
      isRevoked: db.prepare('SELECT 1 FROM auth_revoked_tokens WHERE jti = ?'),
      pruneRevoked: db.prepare('DELETE FROM auth_revoked_tokens WHERE expires_at < ?'),
      seen: db.prepare(
        'INSERT OR IGNORE INTO auth_seen_assertions (client_id, jti, expires_at) VALUES (?, ?, ?)',
      ),
      pruneSeen: db.prepare('DELETE FROM auth_seen_assertions WHERE expires_at < ?'),
      insertNotification: db.prepare(
        'INSERT INTO notifications (id, recipient, body, created_at) VALUES (?, ?, ?, ?)',
      ),
      markRead: db.prepare('UPDATE notifications SET read_at = ? WHERE id = ? AND recipient = ?'),
    };
  }

  async insertUser(user: UserAccount): Promise<void> {
    this.sql.insertUser.run(user.id, user.username, user.fhirUser, JSON.stringify(user));
  }

  private user(row: Row | undefined): UserAccount | undefined {
    return row === undefined ? undefined : (JSON.parse(row.body) as UserAccount);
  }

  async userById(id: string): Promise<UserAccount | undefined> {
    return this.user(this.sql.userById.get(id) as Row | undefined);
  }

  async userByUsername(username: string): Promise<UserAccount | undefined> {
    return this.user(this.sql.userByUsername.get(username) as Row | undefined);
  }

  async userByFhirUser(fhirUser: string): Promise<UserAccount | undefined> {
    return this.user(this.sql.userByFhirUser.get(fhirUser) as Row | undefined);
  }

  async updateUser(id: string, changes: Partial<UserAccount>): Promise<void> {
    // Read and write in one synchronous step: nothing else runs on this connection between them.
    const current = this.user(this.sql.userById.get(id) as Row | undefined);
    if (current !== undefined) this.sql.updateUser.run(JSON.stringify({ ...current, ...changes }), id);
  }

  async consumeTotpStep(id: string, step: number): Promise<boolean> {
    return this.sql.consumeTotpStep.run(step, id, step).changes === 1;
  }

  async listUsers(): Promise<UserAccount[]> {
    return (this.sql.listUsers.all() as Row[]).map((row) => JSON.parse(row.body) as UserAccount);
  }

  async insertClient(client: OAuthClient): Promise<void> {
    this.sql.insertClient.run(client.clientId, JSON.stringify(client));
  }

  async client(clientId: string): Promise<OAuthClient | undefined> {
    const row = this.sql.client.get(clientId) as Row | undefined;
    return row === undefined ? undefined : (JSON.parse(row.body) as OAuthClient);
  }

  async listClients(): Promise<OAuthClient[]> {
    return (this.sql.listClients.all() as Row[]).map((row) => JSON.parse(row.body) as OAuthClient);
  }

  async updateClient(clientId: string, changes: Partial<Pick<OAuthClient, 'status'>>): Promise<void> {
    const row = this.sql.client.get(clientId) as Row | undefined;
    const current = row === undefined ? undefined : (JSON.parse(row.body) as OAuthClient);
    if (current !== undefined)
      this.sql.updateClient.run(JSON.stringify({ ...current, ...changes }), clientId);
  }

  async deleteClient(clientId: string): Promise<boolean> {
    return this.sql.deleteClient.run(clientId).changes === 1;
  }

  async throttleState(keyHash: string): Promise<ThrottleState | undefined> {
    const row = this.sql.throttle.get(keyHash) as ThrottleRow | undefined;
    return row === undefined ? undefined : throttleState(row);
  }

  async countThrottleAttempt(keyHash: string, policy: ThrottlePolicy, now: number): Promise<ThrottleCount> {
    const statement = this.throttleCount(policy);
    const row = statement.get({ key: keyHash, now }) as ThrottleRow | undefined;
    if (row !== undefined) return { counted: true, state: throttleState(row) };
    return { counted: false, lockedUntil: (await this.throttleState(keyHash))?.lockedUntil ?? 0 };
  }

  async takeBackThrottleAttempt(keyHash: string, lockedUntil: number): Promise<void> {
    this.db
      .transaction(() => {
        this.sql.takeBack.run({ key: keyHash, lockedUntil });
        this.sql.dropSpent.run(keyHash);
      })
      .immediate();
  }

  async countInWindow(keyHash: string, windowStart: number): Promise<number> {
    return (this.sql.countInWindow.get({ key: keyHash, windowStart }) as { hits: number }).hits;
  }

  private throttleCount(policy: ThrottlePolicy): Statement {
    let statement = this.throttleStatements.get(policy);
    if (statement === undefined) {
      statement = this.db.prepare(throttleCountSql(policy, { key: '@key', now: '@now', least: 'min' }));
      this.throttleStatements.set(policy, statement);
    }
    return statement;
  }

  async clearThrottleState(keyHash: string): Promise<void> {
    this.sql.clearThrottle.run(keyHash);
  }

  async insertCode(code: AuthorizationCode): Promise<void> {
    this.sql.insertCode.run(code.codeHash, JSON.stringify(code));
  }

  async code(codeHash: string): Promise<AuthorizationCode | undefined> {
    const row = this.sql.code.get(codeHash) as
      | (Row & { used_at: number | null; family: string | null })
      | undefined;
    if (row === undefined) return undefined;
    return {
      ...(JSON.parse(row.body) as AuthorizationCode),
      ...(row.used_at === null ? {} : { usedAt: row.used_at }),
      ...(row.family === null ? {} : { family: row.family }),
    };
  }

  async redeemCode(codeHash: string, at: number, family: string | undefined): Promise<boolean> {
    return this.sql.redeemCode.run(at, family ?? null, codeHash).changes === 1;
  }

  async insertRefreshToken(token: RefreshToken): Promise<void> {
    this.sql.insertRefresh.run(token.tokenHash, token.family, JSON.stringify(token));
  }

  async refreshToken(tokenHash: string): Promise<RefreshToken | undefined> {
    const row = this.sql.refresh.get(tokenHash) as
      | (Row & { rotated_at: number | null; revoked_at: number | null })
      | undefined;
    if (row === undefined) return undefined;
    return {
      ...(JSON.parse(row.body) as RefreshToken),
      ...(row.rotated_at === null ? {} : { rotatedAt: row.rotated_at }),
      ...(row.revoked_at === null ? {} : { revokedAt: row.revoked_at }),
    };
  }

  async rotateRefreshToken(tokenHash: string, at: number): Promise<boolean> {
    return this.sql.rotate.run(at, tokenHash).changes === 1;
  }

  async revokeFamily(family: string, at: number): Promise<void> {
    this.db
      .transaction(() => {
        this.sql.revokeFamily.run(at, family);
        this.sql.revokeFamilyAccess.run(family, at);
      })
      .immediate();
  }

  async isFamilyRevoked(family: string): Promise<boolean> {
    return this.sql.isFamilyRevoked.get(family) !== undefined;
  }

  async revokeAccessToken(jti: string, expiresAt: number): Promise<void> {
    this.sql.pruneRevoked.run(Math.floor(Date.now() / 1000) - 3600);
    this.sql.revokeAccess.run(jti, expiresAt);
  }

  async isAccessTokenRevoked(jti: string): Promise<boolean> {
    return this.sql.isRevoked.get(jti) !== undefined;
  }

  async tokenStatus(
    jti: string,
    family: string | undefined,
    userId: string | undefined,
    clientId?: string,
  ): Promise<TokenStatus> {
    const row = this.sql.tokenStatus.get({
      jti,
      family: family ?? null,
      user: userId ?? null,
      client: clientId ?? null,
    }) as { revoked: number; body: string | null; client_body: string | null };
    const user = row.body === null ? undefined : (JSON.parse(row.body) as UserAccount);
    const client = row.client_body === null ? undefined : (JSON.parse(row.client_body) as OAuthClient);
    return {
      revoked: row.revoked === 1,
      ...(user === undefined ? {} : { user }),
      ...(client === undefined ? {} : { client }),
    };
  }

  async seenAssertion(clientId: string, jti: string, expiresAt: number): Promise<boolean> {
    this.sql.pruneSeen.run(Math.floor(Date.now() / 1000) - 3600);
    return this.sql.seen.run(clientId, jti, expiresAt).changes === 0;
  }

  async insertNotification(notification: Notification): Promise<void> {
    this.sql.insertNotification.run(
      notification.id,
      notification.recipient,
      JSON.stringify(notification),
      notification.createdAt,
    );
  }

  async notifications(recipients: readonly string[]): Promise<Notification[]> {
    if (recipients.length === 0) return [];
    const rows = this.db
      .prepare(
        `SELECT body, read_at FROM notifications WHERE recipient IN (${recipients.map(() => '?').join(',')})
         ORDER BY created_at DESC LIMIT 200`,
      )
      .all(...recipients) as (Row & { read_at: string | null })[];
    return rows.map((row) => ({
      ...(JSON.parse(row.body) as Notification),
      ...(row.read_at === null ? {} : { readAt: row.read_at }),
    }));
  }

  async markNotificationRead(id: string, recipients: readonly string[], at: string): Promise<boolean> {
    return recipients.some((recipient) => this.sql.markRead.run(at, id, recipient).changes === 1);
  }
}
