// bench/results.svg from bench/results.json: one panel per scenario, drawn as plain SVG (no browser).
import type { Row } from './stats.ts';

interface Panel {
  title: string;
  svg: (x: number, y: number, width: number, height: number) => string;
}

const COLORS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd'];

function escape(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}

function text(x: number, y: number, value: string, options: { size?: number; anchor?: string; weight?: string } = {}): string {
  return `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}" font-size="${options.size ?? 11}" text-anchor="${options.anchor ?? 'start'}" font-weight="${options.weight ?? 'normal'}">${escape(value)}</text>`;
}

/** Horizontal bars, one per label, with the value printed at the end. */
export function barPanel(title: string, bars: { label: string; value: number; color?: number }[], unit: string): Panel {
  return {
    title,
    svg(x, y, width, height) {
      const max = Math.max(1, ...bars.map((bar) => bar.value));
      const labelWidth = 300;
      const rowHeight = Math.min(26, (height - 10) / Math.max(1, bars.length));
      return bars
        .map((bar, index) => {
          const top = y + index * rowHeight;
          const length = ((width - labelWidth - 90) * bar.value) / max;
          return [
            text(x + labelWidth - 6, top + rowHeight * 0.65, bar.label, { anchor: 'end' }),
            `<rect x="${x + labelWidth}" y="${top + 3}" width="${Math.max(1, length).toFixed(1)}" height="${rowHeight - 6}" fill="${COLORS[(bar.color ?? index) % COLORS.length]}"/>`,
            text(x + labelWidth + length + 4, top + rowHeight * 0.65, `${bar.value} ${unit}`),
          ].join('');
        })
        .join('');
    },
  };
}

/** Lines over a shared x axis (optionally logarithmic), with a legend. */
export function linePanel(
  title: string,
  series: { name: string; points: { x: number; y: number }[] }[],
  axes: { x: string; y: string; logX?: boolean },
): Panel {
  return {
    title,
    svg(x0, y0, width, height) {
      const all = series.flatMap((line) => line.points);
      if (all.length === 0) return text(x0, y0 + 20, 'no data');
      const fx = (value: number) => (axes.logX ? Math.log10(Math.max(1, value)) : value);
      const minX = Math.min(...all.map((point) => fx(point.x)));
      const maxX = Math.max(...all.map((point) => fx(point.x)));
      const maxY = Math.max(1, ...all.map((point) => point.y));
      const left = x0 + 60;
      const bottom = y0 + height - 30;
      const plotWidth = width - 80;
      const plotHeight = height - 50;
      const px = (value: number) => left + ((fx(value) - minX) / Math.max(1e-9, maxX - minX)) * plotWidth;
      const py = (value: number) => bottom - (value / maxY) * plotHeight;
      const parts = [
        `<line x1="${left}" y1="${bottom}" x2="${left + plotWidth}" y2="${bottom}" stroke="#333"/>`,
        `<line x1="${left}" y1="${bottom}" x2="${left}" y2="${bottom - plotHeight}" stroke="#333"/>`,
        text(left - 4, bottom - plotHeight + 4, String(Math.round(maxY)), { anchor: 'end' }),
        text(left - 4, bottom, '0', { anchor: 'end' }),
        text(left + plotWidth / 2, bottom + 24, axes.x, { anchor: 'middle' }),
        text(x0 + 4, y0 + 12, axes.y),
      ];
      for (const point of series[0]?.points ?? []) parts.push(text(px(point.x), bottom + 12, String(point.x), { anchor: 'middle', size: 9 }));
      series.forEach((line, index) => {
        const color = COLORS[index % COLORS.length];
        const path = line.points.map((point, i) => `${i === 0 ? 'M' : 'L'}${px(point.x).toFixed(1)},${py(point.y).toFixed(1)}`).join(' ');
        parts.push(`<path d="${path}" fill="none" stroke="${color}" stroke-width="2"/>`);
        for (const point of line.points) parts.push(`<circle cx="${px(point.x).toFixed(1)}" cy="${py(point.y).toFixed(1)}" r="2.5" fill="${color}"/>`);
        parts.push(`<rect x="${left + plotWidth - 170}" y="${y0 + 4 + index * 14}" width="10" height="10" fill="${color}"/>`);
        parts.push(text(left + plotWidth - 155, y0 + 13 + index * 14, line.name, { size: 10 }));
      });
      return parts.join('');
    },
  };
}

export function renderChart(title: string, panels: Panel[]): string {
  const width = 900;
  const panelHeight = 230;
  const height = 40 + panels.length * (panelHeight + 30);
  const body = panels
    .map((panel, index) => {
      const top = 40 + index * (panelHeight + 30);
      return text(10, top + 14, panel.title, { size: 13, weight: 'bold' }) + panel.svg(10, top + 22, width - 20, panelHeight - 10);
    })
    .join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif"><rect width="100%" height="100%" fill="white"/>${text(10, 24, title, { size: 16, weight: 'bold' })}${body}</svg>\n`;
}

export const numberOf = (row: Row, key: string): number => Number(row[key] ?? 0);
