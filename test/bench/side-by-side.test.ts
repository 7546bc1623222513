import { describe, expect, it } from 'vitest';
import { parsePidList } from '../../bench/support/proc-cpu.js';
import {
  cpuByCommand,
  formatCpuBy,
  median,
  medianOfRounds,
  parsePeerOptions,
  ratio,
  roundFigure,
  roundOrder,
  windowCpuMs,
  windowCpuPerPid,
} from '../../bench/support/side-by-side.js';

describe('percentiles, medians and ratios', () => {
  it('takes the median of odd and even counts', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNaN();
  });

  it('turns a load result into rate, p50/p99 and CPU per answer (failed requests included)', () => {
    const latencies = Array.from({ length: 100 }, (_, i) => i + 1);
    const figure = roundFigure({ ok: 98, errors: 2, seconds: 2, latencies }, 500);
    expect(figure.rate).toBe(49);
    expect(figure.p50Ms).toBe(50);
    expect(figure.p99Ms).toBe(99);
    expect(figure.cpuMsPerRequest).toBe(5);
    expect(roundFigure({ ok: 1, errors: 0, seconds: 1, latencies: [1] }, undefined).cpuMsPerRequest).toBe(
      undefined,
    );
  });

  it('keeps the CPU median only when every round measured it', () => {
    const a = { rate: 10, p50Ms: 1, p99Ms: 5, cpuMsPerRequest: 2, ok: 10, errors: 0 };
    const b = { rate: 30, p50Ms: 3, p99Ms: 9, cpuMsPerRequest: 4, ok: 30, errors: 1 };
    const c = { rate: 20, p50Ms: 2, p99Ms: 7, ok: 20, errors: 0 };
    expect(medianOfRounds([a, b, { ...c, cpuMsPerRequest: 3 }])).toEqual({
      rate: 20,
      p50Ms: 2,
      p99Ms: 7,
      cpuMsPerRequest: 3,
      ok: 60,
      errors: 1,
    });
    expect(medianOfRounds([a, b, c]).cpuMsPerRequest).toBeUndefined();
  });

  it('gives no ratio without both sides or against zero', () => {
    expect(ratio(300, 600)).toBe(0.5);
    expect(ratio(3, undefined)).toBeUndefined();
    expect(ratio(3, 0)).toBeUndefined();
    expect(ratio(Number.NaN, 2)).toBeUndefined();
  });

  it('alternates which side goes first', () => {
    expect(roundOrder(0, 'c', 'p')).toEqual(['c', 'p']);
    expect(roundOrder(1, 'c', 'p')).toEqual(['p', 'c']);
  });
});

describe('parsePeerOptions', () => {
  it('reads url, token, pids and extra headers', () => {
    expect(
      parsePeerOptions([
        ['url', 'http://127.0.0.1:8103/fhir/R4/'],
        ['token', 'abc'],
        ['pids', '12, 34'],
        ['header', 'X-Careledger-Identity: Practitioner/dr-1'],
      ]),
    ).toEqual({
      url: 'http://127.0.0.1:8103/fhir/R4',
      headers: { authorization: 'Bearer abc', 'x-careledger-identity': 'Practitioner/dr-1' },
      pids: [12, 34],
    });
  });

  it('is undefined without a url and refuses bad values', () => {
    expect(parsePeerOptions([['token', 'abc']])).toBeUndefined();
    expect(() => parsePeerOptions([['url', 'ftp://x']])).toThrow();
    expect(() => parsePeerOptions([['header', 'no colon']])).toThrow();
    expect(() => parsePeerOptions([['color', 'red']])).toThrow();
    expect(() => parsePeerOptions([['careledger-workers', '0']])).toThrow(/whole number/);
  });

  it("takes the CareLedger node's worker count", () => {
    expect(
      parsePeerOptions([
        ['url', 'http://127.0.0.1:8103/fhir/R4'],
        ['careledger-workers', '1'],
      ]),
    ).toEqual({ url: 'http://127.0.0.1:8103/fhir/R4', headers: {}, pids: [], careledgerWorkers: 1 });
    expect(() => parsePidList('12,x')).toThrow();
    expect(() => parsePidList('')).toThrow();
  });
});

describe('windowCpuMs', () => {
  const cpu = (userMs: number, systemMs: number) => ({ userMs, systemMs });
  it('counts the difference of processes in both snapshots and the whole of those born inside', () => {
    const start = new Map([
      [10, cpu(1000, 200)],
      [11, cpu(50, 10)],
    ]);
    const end = new Map([
      [10, cpu(1300, 250)], // +350
      [11, cpu(60, 10)], // +10
      [12, cpu(70, 30)], // born inside the window: 100
    ]);
    expect(windowCpuMs(start, end)).toBe(460);
  });

  it('leaves out a process that ended inside the window', () => {
    const start = new Map([
      [10, cpu(100, 0)],
      [11, cpu(500, 0)],
    ]);
    expect(windowCpuMs(start, new Map([[10, cpu(150, 0)]]))).toBe(50);
  });
});

describe('CPU by process', () => {
  it('sums per-pid CPU by command name and prints it largest first', () => {
    const start = new Map([
      [1, { userMs: 100, systemMs: 0 }],
      [2, { userMs: 10, systemMs: 0 }],
    ]);
    const end = new Map([
      [1, { userMs: 400, systemMs: 100 }],
      [2, { userMs: 30, systemMs: 0 }],
      [3, { userMs: 50, systemMs: 10 }],
    ]);
    const perPid = windowCpuPerPid(start, end);
    expect([...perPid.entries()]).toEqual([
      [1, 400],
      [2, 20],
      [3, 60],
    ]);
    const commands = new Map([
      [1, 'node'],
      [2, 'postgres'],
      [3, 'postgres'],
    ]);
    const by = cpuByCommand(perPid, (pid) => commands.get(pid) ?? 'ended');
    expect(by).toEqual({ node: 400, postgres: 80 });
    expect(formatCpuBy(by)).toBe('node 400, postgres 80');
    expect(formatCpuBy({ ...by, esbuild: 0 })).toBe('node 400, postgres 80');
    expect(formatCpuBy(undefined)).toBe('not measured');
  });

  it('divides the split by the answers and takes its median over rounds', () => {
    const result = { ok: 9, errors: 1, seconds: 1, latencies: [1] };
    const rounds = [
      roundFigure(result, 30, { node: 20, postgres: 10 }),
      roundFigure(result, 50, { node: 50 }),
      roundFigure(result, 40, { node: 30, postgres: 10 }),
    ];
    expect(rounds[0]?.cpuMsPerRequestBy).toEqual({ node: 2, postgres: 1 });
    expect(medianOfRounds(rounds).cpuMsPerRequestBy).toEqual({ node: 3, postgres: 1 });
    expect(medianOfRounds([...rounds, roundFigure(result, 1)]).cpuMsPerRequestBy).toBeUndefined();
  });
});
