import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { cpuBetween, parseMachineCpu, parseProcStat, processesNamed } from '../../bench/support/proc-cpu.js';

// A real /proc/<pid>/stat line shape; the command name holds a space and a parenthesis.
const STAT =
  '4242 (node (main) x) S 17 4242 4242 0 -1 4194560 52 0 0 0 1234 567 8 9 20 0 11 0 100 1000000 5000 ' +
  '18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0';

describe('parseProcStat', () => {
  it('reads the pid, the command name (field 2), the parent (field 4) and the CPU', () => {
    expect(parseProcStat(STAT)).toEqual({
      pid: 4242,
      comm: 'node (main) x',
      ppid: 17,
      userMs: 12_340,
      systemMs: 5_670,
    });
  });

  it('refuses text that is not a stat line', () => {
    expect(() => parseProcStat('no command name here')).toThrow();
    expect(() => parseProcStat('1 (x) S 1')).toThrow();
  });
});

describe('cpuBetween', () => {
  it('sums the CPU of processes seen at both ends and leaves out one that ended', () => {
    const start = new Map([
      [1, { userMs: 100, systemMs: 10 }],
      [2, { userMs: 50, systemMs: 0 }],
      [3, { userMs: 5, systemMs: 5 }],
    ]);
    const end = new Map([
      [1, { userMs: 300, systemMs: 30 }],
      [2, { userMs: 60, systemMs: 20 }],
    ]);
    const { totalMs, perPid } = cpuBetween(start, end);
    expect(totalMs).toBe(220 + 30);
    expect([...perPid.keys()]).toEqual([1, 2]);
  });
});

describe('parseMachineCpu', () => {
  // proc(5): cpu  user nice system idle iowait irq softirq steal guest guest_nice, in USER_HZ ticks.
  const PROC_STAT = 'cpu  100 5 50 800 40 1 4 0 0 0\ncpu0 50 2 25 400 20 1 2 0 0 0\nintr 1 2 3\n';

  it('takes idle and iowait as idle, and all fields but guest time as the total, in ms', () => {
    // guest and guest_nice are already inside user and nice, so they are not added again.
    expect(parseMachineCpu(PROC_STAT)).toEqual({ idleMs: 8_400, totalMs: 10_000 });
  });

  it('refuses text without the all-cores line', () => {
    expect(() => parseMachineCpu('cpu0 1 2 3 4\n')).toThrow();
  });
});

describe('processesNamed', () => {
  it("finds this process's own children by command name, not other processes", async () => {
    // `cat` waits on its stdin until the pipe closes: a child that stays until the test ends it.
    const child = spawn('cat', [], { stdio: ['pipe', 'ignore', 'ignore'] });
    await once(child, 'spawn');
    try {
      expect(processesNamed('cat')).toEqual([child.pid]);
      expect(processesNamed('cat', child.pid as number)).toEqual([child.pid]);
      expect(processesNamed('no-such-command')).toEqual([]);
    } finally {
      child.stdin?.end();
      await once(child, 'exit');
    }
  });
});
