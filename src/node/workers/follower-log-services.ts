import { createLogRoutes } from '../../http/routes/log-routes.js';
import { createWitnessRoutes } from '../../http/routes/witness-routes.js';
import type { TrustedLog } from '../../log/index.js';
import { Witness } from '../../log/index.js';
import type { LogStorage } from '../../log/log-storage.js';
import type { LogServices, LogServicesOptions } from '../log-services-types.js';
import { deriveWitnessSignerKey } from '../witness-keys.js';
import { FollowerLog, type LogAppender } from './follower-log.js';

/**
 * A worker's log services: the log read from the shared database and appended through the sequencer,
 * the tile and proof routes over it, and this member's witness for the other members' logs (its state
 * is a compare-and-set row in the shared database, so any process may cosign). Checkpointing, witness
 * collection and anchoring run in the primary only.
 */
export async function startFollowerLogServices(
  options: LogServicesOptions,
  storage: LogStorage,
  appender: LogAppender,
): Promise<LogServices> {
  const log = await FollowerLog.open({
    storage,
    signerKey: options.signerKey,
    origin: options.origin,
    appender,
  });
  const witnessSigner = deriveWitnessSignerKey(options.signerKey, options.origin);
  let witness = new Witness({ signerKey: witnessSigner, logs: [], storage });
  let othersKey = '';
  const refreshMembers = async () => {
    const active = (await options.index.members()).filter(
      (m) => m.status === 'active' && m.address !== options.self,
    );
    const key = active.map((m) => `${m.logOrigin}|${m.logVerifierKey}`).join('\n');
    if (key === othersKey) return;
    othersKey = key;
    const trusted: TrustedLog[] = active.map((m) => ({
      origin: m.logOrigin,
      verifierKeys: [m.logVerifierKey],
    }));
    witness = new Witness({ signerKey: witnessSigner, logs: trusted, storage });
  };
  await refreshMembers().catch(() => undefined);
  const membersTimer = setInterval(() => void refreshMembers().catch(() => undefined), 2_000);
  membersTimer.unref();
  return {
    log,
    logRoutes: createLogRoutes(log),
    witnessRoutes: createWitnessRoutes({ addCheckpoint: (body) => witness.addCheckpoint(body) }),
    async status() {
      await log.refresh().catch(() => undefined);
      const anchors = await options.index.anchors(options.origin);
      return {
        origin: options.origin,
        size: log.size,
        checkpointSize: log.latestCheckpointRecord()?.size ?? null,
        cosignedSize: log.latestCosignedCheckpoint()?.size ?? null,
        witnesses: { total: othersKey === '' ? 0 : othersKey.split('\n').length, quorum: 0 },
        anchoredSize: anchors.length === 0 ? null : Math.max(...anchors.map((a) => a.treeSize)),
        lastAnchorError: null,
        fence: null,
      };
    },
    async stop() {
      clearInterval(membersTimer);
      await log.stop();
    },
  };
}
