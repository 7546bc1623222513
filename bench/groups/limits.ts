/**
 * This machine's raw limits, measured in the same run as the figures compared with them: hashing,
 * signing, encryption, SQLite commits and fsync. Each is a loop over the primitive and nothing else.
 */
import {
  createCipheriv,
  createHash,
  generateKeyPairSync,
  randomBytes,
  sign as signEd25519,
  verify as verifyEd25519,
} from 'node:crypto';
import { closeSync, fsyncSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { openDatabase } from '../../src/storage/sqlite/open-database.js';
import { measureRate } from '../measure.js';
import type { Figure, Group, GroupContext, GroupResult } from '../types.js';

interface LimitDefinition {
  readonly label: string;
  readonly unit: string;
  /** Returns the headline value and optional extras. */
  measure(quick: boolean): { value: number; extra?: Record<string, number | string> };
}

const MiB = 1024 * 1024;

function cpuMs(quick: boolean): number {
  return quick ? 200 : 1000;
}

function ioMs(quick: boolean): number {
  return quick ? 500 : 2000;
}

function withTempDir<T>(fn: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'careledger-bench-limits-'));
  try {
    return fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function sha256Rate(size: number, quick: boolean): { value: number; extra: Record<string, number> } {
  const input = randomBytes(size);
  const r = measureRate(() => {
    createHash('sha256').update(input).digest();
  }, cpuMs(quick));
  return { value: r.perSecond, extra: { MBps: (r.perSecond * size) / MiB } };
}

function aesRate(size: number, quick: boolean): { value: number; extra: Record<string, number> } {
  const key = randomBytes(32);
  const plaintext = randomBytes(size);
  const iv = Buffer.alloc(12);
  let counter = 0;
  const r = measureRate(
    () => {
      // A fresh nonce per message, as real use requires (NIST SP 800-38D §8.2.1, deterministic construction).
      iv.writeUInt32BE(counter++, 8);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      cipher.update(plaintext);
      cipher.final();
      cipher.getAuthTag();
    },
    cpuMs(quick),
    size > 4096 ? 4 : 64,
  );
  return { value: r.perSecond, extra: { MBps: (r.perSecond * size) / MiB } };
}

const ed25519Keys = generateKeyPairSync('ed25519');
const ed25519Message = randomBytes(256);
const ed25519Signature = signEd25519(null, ed25519Message, ed25519Keys.privateKey);

const secpSecret = secp256k1.utils.randomSecretKey();
const secpPublic = secp256k1.getPublicKey(secpSecret);
const secpDigest = randomBytes(32);
const secpSignature = secp256k1.sign(secpDigest, secpSecret, { prehash: false });

export const LIMITS: Record<string, LimitDefinition> = {
  'limits.sha256.64': {
    label: 'SHA-256 of 64 B (node:crypto)',
    unit: 'hashes/s',
    measure: (quick) => sha256Rate(64, quick),
  },
  'limits.sha256.1k': {
    label: 'SHA-256 of 1 KiB (node:crypto)',
    unit: 'hashes/s',
    measure: (quick) => sha256Rate(1024, quick),
  },
  'limits.ed25519.sign': {
    label: 'Ed25519 sign, 256 B (node:crypto)',
    unit: 'ops/s',
    measure: (quick) => ({
      value: measureRate(() => {
        signEd25519(null, ed25519Message, ed25519Keys.privateKey);
      }, cpuMs(quick)).perSecond,
    }),
  },
  'limits.ed25519.verify': {
    label: 'Ed25519 verify, 256 B (node:crypto)',
    unit: 'ops/s',
    measure: (quick) => ({
      value: measureRate(() => {
        verifyEd25519(null, ed25519Message, ed25519Keys.publicKey, ed25519Signature);
      }, cpuMs(quick)).perSecond,
    }),
  },
  'limits.aes.1k': {
    label: 'AES-256-GCM encrypt 1 KiB (node:crypto)',
    unit: 'ops/s',
    measure: (quick) => aesRate(1024, quick),
  },
  'limits.aes.64k': {
    label: 'AES-256-GCM encrypt 64 KiB (node:crypto)',
    unit: 'ops/s',
    measure: (quick) => aesRate(64 * 1024, quick),
  },
  'limits.secp256k1.sign': {
    label: 'secp256k1 sign (@noble/curves)',
    unit: 'ops/s',
    measure: (quick) => ({
      value: measureRate(
        () => {
          secp256k1.sign(secpDigest, secpSecret, { prehash: false });
        },
        cpuMs(quick),
        8,
      ).perSecond,
    }),
  },
  'limits.secp256k1.verify': {
    label: 'secp256k1 verify (@noble/curves)',
    unit: 'ops/s',
    measure: (quick) => ({
      value: measureRate(
        () => {
          secp256k1.verify(secpSignature, secpDigest, secpPublic, { prehash: false });
        },
        cpuMs(quick),
        8,
      ).perSecond,
    }),
  },
  'limits.sqlite.commit': {
    label: 'SQLite commit, 1 row/transaction (WAL, synchronous=FULL)',
    unit: 'commits/s',
    measure: (quick) =>
      withTempDir((dir) => {
        const db = openDatabase(join(dir, 'limits.db'));
        try {
          db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB NOT NULL)');
          const insert = db.prepare('INSERT INTO t (v) VALUES (?)');
          const row = randomBytes(300);
          // better-sqlite3 autocommits each statement: one transaction, one WAL fsync.
          const r = measureRate(() => insert.run(row), ioMs(quick), 1);
          return { value: r.perSecond };
        } finally {
          db.close();
        }
      }),
  },
  'limits.sqlite.batched': {
    label: 'SQLite batched commit, 1,000 rows/transaction (WAL, synchronous=FULL)',
    unit: 'rows/s',
    measure: (quick) =>
      withTempDir((dir) => {
        const db = openDatabase(join(dir, 'limits.db'));
        try {
          db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB NOT NULL)');
          const insert = db.prepare('INSERT INTO t (v) VALUES (?)');
          const row = randomBytes(300);
          const batch = db.transaction(() => {
            for (let i = 0; i < 1000; i++) insert.run(row);
          });
          const r = measureRate(() => batch(), ioMs(quick), 1);
          return { value: r.perSecond * 1000, extra: { transactionsPerSecond: r.perSecond } };
        } finally {
          db.close();
        }
      }),
  },
  'limits.fsync': {
    label: 'fsync of a plain file (512 B write + fsync)',
    unit: 'fsyncs/s',
    measure: (quick) =>
      withTempDir((dir) => {
        const fd = openSync(join(dir, 'fsync.bin'), 'w');
        try {
          const block = randomBytes(512);
          const r = measureRate(
            () => {
              writeSync(fd, block);
              fsyncSync(fd);
            },
            ioMs(quick),
            1,
          );
          return { value: r.perSecond };
        } finally {
          closeSync(fd);
        }
      }),
  },
};

export function measureLimit(id: string, quick: boolean): Figure {
  const definition = LIMITS[id];
  if (definition === undefined) throw new Error(`unknown limit ${id}`);
  const { value, extra } = definition.measure(quick);
  return {
    group: 'limits',
    id,
    label: definition.label,
    value,
    unit: definition.unit,
    ...(extra === undefined ? {} : { extra }),
    ratios: [],
  };
}

export const limitsGroup: Group = {
  name: 'limits',
  description: "this machine's raw limits",
  async run(ctx: GroupContext): Promise<GroupResult> {
    const figures: Figure[] = [];
    for (const id of Object.keys(LIMITS)) figures.push(await ctx.limit(id));
    return {
      figures,
      charts: [
        {
          file: 'limits.svg',
          title: "This machine's raw limits (ops/s, log scale)",
          unit: '/s',
          figureIds: Object.keys(LIMITS),
          scale: 'log',
        },
      ],
      notes: [],
    };
  },
};
