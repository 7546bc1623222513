/** An inline SVG trend line: accessible (role img, title, desc listing the values), no library. */
import { svg } from './dom.js';

export function trendChart(
  points: readonly { at: string; value: number }[],
  title: string,
  unit: string,
): SVGElement {
  const sorted = [...points].sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
  const width = 480;
  const height = 180;
  const pad = { left: 48, right: 16, top: 16, bottom: 28 };
  const times = sorted.map((p) => Date.parse(p.at));
  const values = sorted.map((p) => p.value);
  const tMin = Math.min(...times);
  const tMax = Math.max(...times);
  let vMin = Math.min(...values);
  let vMax = Math.max(...values);
  if (vMin === vMax) {
    vMin -= 1;
    vMax += 1;
  }
  const x = (t: number) =>
    pad.left + (tMax === tMin ? 0.5 : (t - tMin) / (tMax - tMin)) * (width - pad.left - pad.right);
  const y = (v: number) => pad.top + (1 - (v - vMin) / (vMax - vMin)) * (height - pad.top - pad.bottom);
  const path = sorted
    .map((p, i) => `${i === 0 ? 'M' : 'L'}${x(times[i] as number).toFixed(1)},${y(p.value).toFixed(1)}`)
    .join(' ');
  const fmt = (v: number) => (Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(1));
  const day = (t: number) =>
    new Date(t).toLocaleDateString('en-GB', { day: 'numeric', month: 'short', year: '2-digit' });
  const desc = sorted.map((p) => `${day(Date.parse(p.at))}: ${p.value} ${unit}`).join('; ');
  return svg(
    'svg',
    {
      class: 'chart',
      viewBox: `0 0 ${width} ${height}`,
      width,
      height,
      role: 'img',
      'aria-label': `${title} trend`,
    },
    svg('title', {}, `${title} trend`),
    svg('desc', {}, desc),
    svg('line', {
      class: 'axis',
      x1: pad.left,
      y1: height - pad.bottom,
      x2: width - pad.right,
      y2: height - pad.bottom,
    }),
    svg('line', { class: 'axis', x1: pad.left, y1: pad.top, x2: pad.left, y2: height - pad.bottom }),
    svg('text', { x: pad.left - 6, y: y(vMax) + 4, 'text-anchor': 'end' }, fmt(vMax)),
    svg('text', { x: pad.left - 6, y: y(vMin) + 4, 'text-anchor': 'end' }, fmt(vMin)),
    svg('text', { x: pad.left, y: height - 8 }, day(tMin)),
    svg('text', { x: width - pad.right, y: height - 8, 'text-anchor': 'end' }, day(tMax)),
    svg('text', { x: pad.left + 6, y: pad.top - 4 }, unit),
    svg('path', { d: path, fill: 'none', stroke: '#0b5394', 'stroke-width': 2 }),
    sorted.map((p, i) =>
      svg('circle', { cx: x(times[i] as number), cy: y(p.value), r: 3.5, fill: '#0b5394' }),
    ),
  );
}
