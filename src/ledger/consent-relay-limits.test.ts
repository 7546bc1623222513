import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadNodeConfig } from '../node/node-config.js';
import { consentRelayLimitPolicy, DEFAULT_CONSENT_RELAY_LIMITS } from './consent-relay-limits.js';

describe("node.json's consentRelayLimits", () => {
  it('keeps the defaults for what it does not name, a minute for what it does', () => {
    expect(consentRelayLimitPolicy()).toEqual(DEFAULT_CONSENT_RELAY_LIMITS);
    const policy = consentRelayLimitPolicy({ grantsPerSource: 500 });
    expect(policy.chain.perSource).toEqual({ requests: 500, windowSeconds: 60 });
    expect(policy.chain.global).toEqual(DEFAULT_CONSENT_RELAY_LIMITS.chain.global);
    expect(policy.opening).toEqual(DEFAULT_CONSENT_RELAY_LIMITS.opening);
  });

  it('refuses a figure that is not a whole number from 1, naming the field', () => {
    const dir = mkdtempSync(join(tmpdir(), 'careledger-relay-config-'));
    try {
      const base = {
        name: 'hospital',
        organization: 'Hospital',
        role: 'provider',
        host: '127.0.0.1',
        port: 8701,
        publicUrl: 'http://127.0.0.1:8701',
        logOrigin: 'hospital.test/log',
        chain: { rpcUrl: 'http://127.0.0.1:8545', chainId: 31337 },
        deploymentFile: 'deployment.json',
      };
      writeFileSync(
        join(dir, 'node.json'),
        JSON.stringify({ ...base, consentRelayLimits: { grantsPerNode: 0 } }),
      );
      expect(() => loadNodeConfig(dir)).toThrow(/consentRelayLimits\.grantsPerNode must be an integer/);
      writeFileSync(
        join(dir, 'node.json'),
        JSON.stringify({ ...base, consentRelayLimits: { grantsPerNode: 1000 } }),
      );
      expect(loadNodeConfig(dir).consentRelayLimits).toEqual({ grantsPerNode: 1000 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
