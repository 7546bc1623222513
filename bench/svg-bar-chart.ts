/** Hand-written SVG horizontal bar charts: no dependency, readable in any browser or Markdown viewer. */
import { formatNumber } from './measure.js';

export interface Bar {
  readonly label: string;
  readonly value: number;
  /** Optional second value drawn as a tick (p99). */
  readonly high?: number;
  /** Reference bars (raw limits) are grey. */
  readonly reference?: boolean;
  readonly valueText: string;
}

export interface BarChart {
  readonly title: string;
  readonly unit: string;
  readonly scale: 'linear' | 'log';
  readonly bars: readonly Bar[];
}

const LABEL_WIDTH = 360;
const PLOT_WIDTH = 360;
const VALUE_WIDTH = 200;
const ROW = 26;
const TOP = 44;
const BOTTOM = 30;

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

export function renderBarChart(chart: BarChart): string {
  const values = chart.bars.flatMap((b) => [b.value, b.high ?? b.value]).filter((v) => v > 0);
  const max = Math.max(...values, Number.MIN_VALUE);
  const min = Math.min(...values, max);
  let position: (v: number) => number;
  const ticks: number[] = [];
  if (chart.scale === 'log') {
    const lo = Math.floor(Math.log10(min));
    const hi = Math.max(lo + 1, Math.ceil(Math.log10(max)));
    position = (v) => (v <= 0 ? 0 : ((Math.log10(v) - lo) / (hi - lo)) * PLOT_WIDTH);
    for (let e = lo; e <= hi; e++) ticks.push(10 ** e);
  } else {
    const step = 10 ** Math.floor(Math.log10(max));
    const top = Math.ceil(max / step) * step;
    position = (v) => (Math.max(0, v) / top) * PLOT_WIDTH;
    for (let t = 0; t <= top + step / 2; t += step) ticks.push(t);
  }
  const width = LABEL_WIDTH + PLOT_WIDTH + VALUE_WIDTH;
  const height = TOP + chart.bars.length * ROW + BOTTOM;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="10" y="22" font-size="14" font-weight="bold">${escapeXml(chart.title)}</text>`,
  ];
  const plotBottom = TOP + chart.bars.length * ROW;
  for (const tick of ticks) {
    const x = LABEL_WIDTH + position(tick);
    out.push(
      `<line x1="${x.toFixed(1)}" y1="${TOP - 4}" x2="${x.toFixed(1)}" y2="${plotBottom}" stroke="#dddddd"/>`,
      `<text x="${x.toFixed(1)}" y="${plotBottom + 16}" text-anchor="middle" fill="#666666">${escapeXml(formatNumber(tick))}</text>`,
    );
  }
  chart.bars.forEach((bar, i) => {
    const y = TOP + i * ROW;
    const w = Math.max(1, position(bar.value));
    const fill = bar.reference ? '#9e9e9e' : '#2f6db5';
    out.push(
      `<text x="${LABEL_WIDTH - 8}" y="${y + 16}" text-anchor="end">${escapeXml(bar.label)}</text>`,
      `<rect x="${LABEL_WIDTH}" y="${y + 4}" width="${w.toFixed(1)}" height="${ROW - 8}" fill="${fill}"/>`,
    );
    if (bar.high !== undefined) {
      const hx = LABEL_WIDTH + position(bar.high);
      out.push(
        `<line x1="${LABEL_WIDTH + w}" y1="${y + ROW / 2}" x2="${hx.toFixed(1)}" y2="${y + ROW / 2}" stroke="#c0392b"/>`,
        `<line x1="${hx.toFixed(1)}" y1="${y + 5}" x2="${hx.toFixed(1)}" y2="${y + ROW - 5}" stroke="#c0392b" stroke-width="2"/>`,
      );
    }
    out.push(
      `<text x="${LABEL_WIDTH + PLOT_WIDTH + 8}" y="${y + 16}" fill="#333333">${escapeXml(bar.valueText)}</text>`,
    );
  });
  out.push('</svg>', '');
  return out.join('\n');
}
