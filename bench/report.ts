/** Output of a run: the terminal table, the Markdown report, the SVG charts and the JSON record. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatNumber, formatValue } from './measure.js';
import { type Bar, renderBarChart } from './svg-bar-chart.js';
import type { ChartSpec, Figure } from './types.js';

export interface MachineInfo {
  readonly node: string;
  readonly platform: string;
  readonly cpuModel: string;
  readonly cpus: number;
  readonly memoryGiB: number;
}

export interface GroupError {
  readonly group: string;
  readonly message: string;
  readonly stack?: string;
}

export interface BenchRun {
  readonly version: 1;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly durationSeconds: number;
  readonly mode: 'quick' | 'full';
  readonly groups: readonly string[];
  readonly machine: MachineInfo;
  readonly figures: readonly Figure[];
  readonly notes: Readonly<Record<string, readonly string[]>>;
  readonly charts: readonly string[];
  readonly errors: readonly GroupError[];
}

function pad(text: string, width: number): string {
  return text.length >= width ? text : text + ' '.repeat(width - text.length);
}

/** The terminal table: one line per figure, further ratios on continuation lines. */
export function formatTable(run: BenchRun): string {
  const rows: [string, string, string][] = [];
  for (const group of run.groups) {
    const figures = run.figures.filter((f) => f.group === group);
    if (figures.length === 0) continue;
    rows.push([`[${group}]`, '', '']);
    for (const f of figures) {
      const [first, ...rest] = f.ratios;
      rows.push([`  ${f.label}`, formatValue(f), first === undefined ? '' : `= ${first.text}`]);
      for (const r of rest) rows.push(['', '', `= ${r.text}`]);
    }
  }
  const w0 = Math.max(...rows.map((r) => r[0].length), 6);
  const w1 = Math.max(...rows.map((r) => r[1].length), 5);
  const lines = [
    `${pad('figure', w0)}  ${pad('value', w1)}  compared with this machine's raw limit (same run)`,
    `${'-'.repeat(w0)}  ${'-'.repeat(w1)}  ${'-'.repeat(50)}`,
    ...rows.map(([a, b, c]) => `${pad(a, w0)}  ${pad(b, w1)}  ${c}`.trimEnd()),
  ];
  for (const e of run.errors) lines.push('', `[${e.group}] FAILED: ${e.message}`);
  return lines.join('\n');
}

function escapeCell(text: string): string {
  return text.replace(/\|/g, '\\|');
}

/** The Markdown table of figures, used by latest.md and pasted into docs/benchmarks.md. */
export function formatMarkdownTable(run: BenchRun): string {
  const lines = [
    '| group | figure | value | compared with this machine’s raw limit |',
    '| --- | --- | --- | --- |',
  ];
  for (const f of run.figures) {
    const ratios = f.ratios.map((r) => escapeCell(r.text)).join('<br>') || '—';
    lines.push(`| ${f.group} | ${escapeCell(f.label)} | ${escapeCell(formatValue(f))} | ${ratios} |`);
  }
  return lines.join('\n');
}

export function formatMarkdown(run: BenchRun): string {
  const m = run.machine;
  const out = [
    `# CareLedger benchmark, ${run.startedAt}`,
    '',
    `- mode: **${run.mode}**; groups: ${run.groups.join(', ')}; took ${formatNumber(run.durationSeconds)} s`,
    `- machine: ${m.cpus} × ${m.cpuModel}, ${formatNumber(m.memoryGiB)} GiB RAM, ${m.platform}, Node ${m.node}`,
    '- ratios compare each figure with a raw limit of this machine measured in the same run ' +
      '(see docs/benchmarks.md)',
    '',
    formatMarkdownTable(run),
    '',
  ];
  const extras = run.figures.filter((f) => f.extra !== undefined && Object.keys(f.extra).length > 0);
  if (extras.length > 0) {
    out.push('## Details', '');
    for (const f of extras) {
      const parts = Object.entries(f.extra ?? {}).map(
        ([k, v]) => `${k} ${typeof v === 'number' ? formatNumber(v) : v}`,
      );
      out.push(`- ${f.label}: ${parts.join(', ')}`);
    }
    out.push('');
  }
  const notes = Object.entries(run.notes).filter(([, n]) => n.length > 0);
  if (notes.length > 0) {
    out.push('## Notes', '');
    for (const [group, list] of notes) for (const note of list) out.push(`- ${group}: ${note}`);
    out.push('');
  }
  if (run.errors.length > 0) {
    out.push('## Failed groups', '');
    for (const e of run.errors) out.push(`- ${e.group}: ${e.message}`);
    out.push('');
  }
  if (run.charts.length > 0) {
    out.push('## Charts', '');
    for (const file of run.charts) out.push(`![${file}](${file})`, '');
  }
  return out.join('\n');
}

export function renderChart(spec: ChartSpec, figures: ReadonlyMap<string, Figure>): string | undefined {
  const bars: Bar[] = [];
  const add = (id: string, reference: boolean): void => {
    const f = figures.get(id);
    if (f === undefined) return;
    bars.push({
      label: reference ? `raw: ${f.label}` : f.label,
      value: f.value,
      ...(spec.showP99 && f.p99 !== undefined ? { high: f.p99 } : {}),
      reference,
      valueText: formatValue(f),
    });
  };
  for (const id of spec.figureIds) add(id, false);
  for (const id of spec.referenceIds ?? []) add(id, true);
  if (bars.length === 0) return undefined;
  return renderBarChart({ title: spec.title, unit: spec.unit, scale: spec.scale, bars });
}

/** Writes <timestamp>.json, latest.json, latest.md and the charts; returns the paths written. */
export function writeResults(
  dir: string,
  run: Omit<BenchRun, 'charts'>,
  charts: readonly ChartSpec[],
): { run: BenchRun; files: string[] } {
  mkdirSync(dir, { recursive: true });
  const byId = new Map(run.figures.map((f) => [f.id, f]));
  const files: string[] = [];
  const chartFiles: string[] = [];
  for (const spec of charts) {
    const svg = renderChart(spec, byId);
    if (svg === undefined) continue;
    writeFileSync(join(dir, spec.file), svg);
    chartFiles.push(spec.file);
  }
  const full: BenchRun = { ...run, charts: chartFiles };
  const json = `${JSON.stringify(full, null, 2)}\n`;
  const stamp = run.startedAt.replace(/[:.]/g, '-');
  for (const name of [`${stamp}.json`, 'latest.json']) {
    writeFileSync(join(dir, name), json);
    files.push(join(dir, name));
  }
  writeFileSync(join(dir, 'latest.md'), formatMarkdown(full));
  files.push(join(dir, 'latest.md'), ...chartFiles.map((f) => join(dir, f)));
  return { run: full, files };
}
