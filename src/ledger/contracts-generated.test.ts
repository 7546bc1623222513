import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  COMPILER_SETTINGS,
  compileContracts,
  computeContractsSourceHash,
  GENERATED_FILE,
  loadSolidityFiles,
  renderGeneratedFile,
} from '../../scripts/compile-contracts.js';
import { contractsCompiler, contractsSourceHash } from './contracts.generated.js';

describe('contracts.generated.ts', () => {
  it('was generated from the current contracts/*.sol (else run `npm run contracts`)', () => {
    expect(contractsSourceHash).toBe(computeContractsSourceHash(loadSolidityFiles()));
    expect(contractsCompiler.evmVersion).toBe(COMPILER_SETTINGS.evmVersion);
  });

  it('is byte for byte what the compiler produces now', () => {
    const files = loadSolidityFiles();
    const rendered = renderGeneratedFile(compileContracts(files), computeContractsSourceHash(files));
    expect(readFileSync(GENERATED_FILE, 'utf8')).toBe(rendered);
  });

  it('hashes names as well as contents', () => {
    const a = computeContractsSourceHash([{ name: 'contracts/A.sol', content: 'xy' }]);
    const b = computeContractsSourceHash([
      { name: 'contracts/A.sol', content: 'x' },
      { name: 'contracts/B.sol', content: 'y' },
    ]);
    expect(a).not.toBe(b);
  });
});
