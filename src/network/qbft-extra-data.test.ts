import { readFileSync } from 'node:fs';
import { getAddress, type Hex } from 'viem';
import { describe, expect, it } from 'vitest';
import { encodeQbftGenesisExtraData, parseQbftExtraData } from './qbft-extra-data.js';

const vectors = JSON.parse(
  readFileSync(new URL('../../test/vectors/besu-qbft/extra-data.json', import.meta.url), 'utf8'),
) as { source: string; validators: Hex[]; extraData: Hex }[];

describe('QBFT genesis extraData', () => {
  for (const vector of vectors) {
    it(`encodes the validators of ${vector.source} byte for byte`, () => {
      expect(encodeQbftGenesisExtraData(vector.validators)).toBe(vector.extraData);
    });

    it(`decodes ${vector.source} to its validators, no vote, round 0, no seals`, () => {
      const decoded = parseQbftExtraData(vector.extraData);
      expect(decoded.validators).toEqual(vector.validators.map((v) => getAddress(v)));
      expect(decoded.vanity).toBe(`0x${'00'.repeat(32)}`);
      expect(decoded.vote).toBeUndefined();
      expect(decoded.round).toBe(0);
      expect(decoded.seals).toEqual([]);
    });
  }

  it('round-trips any validator list, in order', () => {
    const validators = Array.from({ length: 7 }, (_, i) => getAddress(`0x${String(i + 1).repeat(40)}`));
    expect(parseQbftExtraData(encodeQbftGenesisExtraData(validators)).validators).toEqual(validators);
  });

  it('refuses what is not a QBFT extraData', () => {
    expect(() => parseQbftExtraData('0x1234')).toThrow(/not a QBFT extraData/);
    // IBFT 2.0's extraData has a different shape (the old Besu example with a round of four bytes, no seals list).
    expect(() => parseQbftExtraData('0xc3808080')).toThrow(/not a QBFT extraData/);
    expect(() => encodeQbftGenesisExtraData([])).toThrow(/needs validators/);
    expect(() => encodeQbftGenesisExtraData(['0x1234'])).toThrow(/not a validator address/);
  });
});
