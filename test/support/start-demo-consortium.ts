import { DEMO_MEMBERS, DevConsortium } from '../../src/cli/commands/dev-consortium.js';
import { findFreePorts } from './free-port.js';

/**
 * The demo consortium of `careledger dev` on free ports of 127.0.0.1, quiet: the chain and three
 * member node processes (or all eight members, `withPartners`) under `dataDir`, optionally with the demo story's records seeded.
 */
export async function startDemoConsortium(
  dataDir: string,
  options: { seedDemoRecords?: boolean; withPartners?: boolean } = {},
): Promise<DevConsortium> {
  // Three ports start the care members only; one per DEMO_MEMBERS entry adds the five partners.
  const [chainPort, ...nodePorts] = await findFreePorts(
    1 + (options.withPartners === true ? DEMO_MEMBERS.length : 3),
  );
  const dev = new DevConsortium({
    dataDir,
    chainPort: chainPort as number,
    nodePorts,
    log: () => undefined,
    seedDemoRecords: options.seedDemoRecords === true,
  });
  await dev.start();
  return dev;
}
