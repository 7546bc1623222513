import { createHash } from 'node:crypto';
import { bytesToHex, hexToBytes } from 'viem';
import { createLogRoutes } from '../http/routes/log-routes.js';
import { createWitnessRoutes } from '../http/routes/witness-routes.js';
import {
  CosignatureCollector,
  evaluateWitnessFloor,
  type StoredCheckpoint,
  TransparencyLog,
  type TrustedLog,
  Witness,
  type WitnessPolicyEntry,
} from '../log/index.js';
import type { LogStorage } from '../log/log-storage.js';
import { SqliteLogStorage } from '../storage/sqlite/sqlite-log-storage.js';
import type { IndexedMember } from '../sync/index.js';
import type { LogServices, LogServicesOptions } from './log-services-types.js';
import { deriveWitnessSignerKey, deriveWitnessVerifierKey, witnessName } from './witness-keys.js';
import { startFollowerLogServices } from './workers/follower-log-services.js';

/** How often a member that has never anchored its log tries again (see the first-anchor timer). */
const FIRST_ANCHOR_RETRY_MS = 1_000;

export type { LogServices, LogServicesOptions, LogServicesStatus, ServedLog } from './log-services-types.js';

function memberSetKey(members: readonly IndexedMember[]): string {
  return members.map((m) => `${m.address}|${m.logOrigin}|${m.logVerifierKey}|${m.fhirBaseUrl}`).join('\n');
}

/**
 * The node's transparency log and its place in the consortium: checkpoints at least once a second
 * while entries arrive, cosignatures from the other members acting as witnesses (k of n), anchoring
 * of the latest cosigned checkpoint on the ledger, and this node's own witness for the others' logs.
 * Who the others are, and their keys, come from the ledger index, never from configuration.
 */
export async function startLogServices(options: LogServicesOptions): Promise<LogServices> {
  const storage: LogStorage =
    options.storage ??
    new SqliteLogStorage(options.db, {
      ...(options.applyCommitGroup === undefined ? {} : { applyCommitGroup: options.applyCommitGroup }),
    });
  if (options.follower !== undefined) return startFollowerLogServices(options, storage, options.follower);
  const log = await TransparencyLog.open({
    storage,
    signerKey: options.signerKey,
    origin: options.origin,
    ...(options.verify === undefined ? {} : { verify: options.verify }),
  });
  const witnessSigner = deriveWitnessSignerKey(options.signerKey, options.origin);

  let others: IndexedMember[] = [];
  let othersKey = '';
  let witness = new Witness({ signerKey: witnessSigner, logs: [], storage });
  let collector: CosignatureCollector | undefined;
  let quorum = 0;
  let lastAnchorError: string | null = null;
  let anchoring: Promise<void> | undefined;

  const refreshMembers = async () => {
    const active = (await options.index.members()).filter(
      (m) => m.status === 'active' && m.address !== options.self,
    );
    const key = memberSetKey(active);
    if (key === othersKey) return;
    others = active;
    othersKey = key;
    const trusted: TrustedLog[] = active.map((m) => ({
      origin: m.logOrigin,
      verifierKeys: [m.logVerifierKey],
    }));
    witness = new Witness({ signerKey: witnessSigner, logs: trusted, storage });
    const witnesses: WitnessPolicyEntry[] = active.map((m) => ({
      name: witnessName(m.logOrigin),
      url: `${m.fhirBaseUrl.replace(/\/fhir\/?$/, '')}/witness`,
      vkey: deriveWitnessVerifierKey(m.logVerifierKey, m.logOrigin),
    }));
    quorum = Math.min(
      witnesses.length,
      options.witnessQuorum ?? Math.max(1, Math.ceil(witnesses.length / 2)),
    );
    collector =
      witnesses.length === 0
        ? undefined
        : new CosignatureCollector({ log, policy: { threshold: quorum, witnesses } });
    options.log(`log: ${witnesses.length} witness(es), quorum ${quorum}`);
  };
  await refreshMembers().catch(() => undefined);

  let fenceLogged = false;
  const reportFence = () => {
    if (log.fence === undefined || fenceLogged) return;
    fenceLogged = true;
    options.log(
      `log: FENCED, ${log.fence}: this node's database is older than what the ledger or its witnesses hold ` +
        '(restored from an old copy?). It appends and signs nothing; restore the newest copy of the database.',
    );
  };
  /** The latest anchor of our log on the ledger, from the chain index, as a floor the log must stay above. */
  const checkAnchorFloor = async () => {
    const anchors = await options.index.anchors(options.origin);
    const latest = anchors.reduce<(typeof anchors)[number] | undefined>(
      (best, a) => (best === undefined || a.treeSize > best.treeSize ? a : best),
      undefined,
    );
    if (latest !== undefined) {
      await log.raiseFloor({
        source: 'anchor',
        size: latest.treeSize,
        rootHash: hexToBytes(latest.rootHash),
      });
    }
    reportFence();
  };
  /** What each witness last cosigned of our log (asked with our latest checkpoint), before we sign more. */
  const checkWitnessFloors = async () => {
    const checkpoint = log.latestCheckpointRecord();
    if (checkpoint === undefined || others.length === 0) return;
    await Promise.all(
      others.map(async (m) => {
        const decision = await evaluateWitnessFloor(
          {
            name: witnessName(m.logOrigin),
            url: `${m.fhirBaseUrl.replace(/\/fhir\/?$/, '')}/witness`,
            vkey: deriveWitnessVerifierKey(m.logVerifierKey, m.logOrigin),
          },
          { checkpoint, log, timeoutMs: 5_000 },
        );
        if (decision.kind === 'ahead') await log.raiseFloor(decision.floor);
        else if (decision.kind === 'conflict') log.fenceBecause(decision.reason);
      }),
    );
    reportFence();
  };
  // Before the first checkpoint: a node restored from an old database must not sign over its past.
  await checkAnchorFloor();
  await checkWitnessFloors().catch((error: unknown) =>
    options.log(`log: could not ask the witnesses about our log: ${(error as Error).message}`),
  );

  const membersTimer = setInterval(() => void refreshMembers().catch(() => undefined), 2_000);
  membersTimer.unref();

  log.startCheckpointing({
    intervalMs: options.checkpointIntervalMs ?? 1_000,
    onCheckpoint: async (checkpoint: StoredCheckpoint) => {
      if (collector === undefined) return;
      const result = await collector.collect(checkpoint);
      for (const failure of result.failures) {
        const details = (failure.error as { details?: { reason?: unknown; witnessSize?: unknown } }).details;
        if (details?.reason === 'witness-ahead' && typeof details.witnessSize === 'number') {
          await log.raiseFloor({ source: `witness ${failure.name}`, size: details.witnessSize });
        } else if (details?.reason === 'witness-root-mismatch') {
          log.fenceBecause(`log root at size ${checkpoint.size} differs from witness ${failure.name}`);
        }
      }
      reportFence();
      if (!result.cosigned) {
        options.log(
          `log: checkpoint ${checkpoint.size} has ${result.witnesses.length} of ${quorum} cosignatures`,
        );
      }
    },
    onError: (error) => options.log(`log: checkpointing failed: ${(error as Error).message}`),
  });

  const anchoredSize = async (): Promise<number | null> => {
    const anchors = await options.index.anchors(options.origin);
    return anchors.length === 0 ? null : Math.max(...anchors.map((a) => a.treeSize));
  };

  /** Anchors the latest cosigned checkpoint (or the signed one when there is nobody to witness). */
  const anchor = async () => {
    await checkAnchorFloor();
    if (log.fence !== undefined) return;
    const record =
      log.latestCosignedCheckpoint() ?? (others.length === 0 ? log.latestCheckpointRecord() : undefined);
    if (record === undefined || record.size === 0) return;
    const anchored = await anchoredSize();
    if (anchored !== null && anchored >= record.size) return;
    const note = record.cosignedNote ?? record.note;
    const noteHash = `0x${createHash('sha256').update(note, 'utf8').digest('hex')}` as const;
    const entry = await options.ledger.anchorCheckpoint(
      options.origin,
      BigInt(record.size),
      bytesToHex(record.rootHash),
      noteHash,
    );
    await options.ledger.outbox.waitForConfirmation(entry.id, 30_000);
  };
  // Until its first anchor the other members refuse what this member serves (`not-anchored`), so a
  // new member tries every second until one lands, then settles on the interval.
  let firstAnchorLanded = false;
  let firstAnchorTries = 0;
  const anchorTick = () => {
    if (anchoring !== undefined) return;
    anchoring = anchor()
      .then(async () => {
        lastAnchorError = null;
        if (!firstAnchorLanded) firstAnchorLanded = (await anchoredSize()) !== null;
      })
      .catch((error: unknown) => {
        const message = (error as Error).message.split('\n')[0] ?? 'anchoring failed';
        if (message !== lastAnchorError) options.log(`log: anchoring failed: ${message}`);
        lastAnchorError = message;
      })
      .finally(() => {
        anchoring = undefined;
      });
  };
  const anchorTimer = setInterval(anchorTick, options.anchorIntervalMs ?? 10_000);
  anchorTimer.unref();
  const firstAnchorTimer = setInterval(() => {
    // At most a minute of fast tries (a member with an empty log has nothing to anchor yet).
    if (firstAnchorLanded || ++firstAnchorTries > 60) clearInterval(firstAnchorTimer);
    else anchorTick();
  }, FIRST_ANCHOR_RETRY_MS);
  firstAnchorTimer.unref();

  return {
    log,
    sequencer: log,
    logRoutes: createLogRoutes(log),
    // The witness is rebuilt when membership changes; the route always uses the current one.
    witnessRoutes: createWitnessRoutes({ addCheckpoint: (body) => witness.addCheckpoint(body) }),
    async status() {
      return {
        origin: options.origin,
        size: log.size,
        checkpointSize: log.latestCheckpointRecord()?.size ?? null,
        cosignedSize: log.latestCosignedCheckpoint()?.size ?? null,
        witnesses: { total: others.length, quorum },
        anchoredSize: await anchoredSize(),
        lastAnchorError,
        fence: log.fence === undefined ? null : `fenced: ${log.fence}`,
      };
    },
    async stop() {
      clearInterval(membersTimer);
      clearInterval(anchorTimer);
      clearInterval(firstAnchorTimer);
      await anchoring;
      await log.stop();
    },
  };
}
