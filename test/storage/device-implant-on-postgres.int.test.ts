/**
 * The implanted-device suite (test/supply/device-implant.int.test.ts: a Device with a GS1 UDI checked
 * at write, its recall reaching the patient), run again with each member's stores on its own database
 * of a throw-away PostgreSQL (startSupplyConsortium makes them when CARELEDGER_TEST_POSTGRES is 1).
 */
import { vi } from 'vitest';

process.env.CARELEDGER_TEST_POSTGRES = '1';
vi.setConfig({ testTimeout: 180_000, hookTimeout: 180_000 });
await import('../supply/device-implant.int.test.js');
