// charts.js — time-series charts with the vendored uPlot: a median line with its p90 band
// (durations), a value with its 95 % confidence band (rates, NPS, scores), or one line per
// value of a dimension (volume by channel…) with spikes, anomalies and annotations marked. Buckets are
// the query's own labels (days, ISO weeks, months) on an index axis, so nothing is shifted
// by the browser's time zone. Duration axes tick at round durations (15 min, 1 h, 6 h, 1 d).
// A click on a point drills into the records behind it, from where "Why did it move?" explains
// the point's change (why.js); a spike's mark opens its breakdown. The same numbers are in a
// data table under the chart for the keyboard and screen readers.

import uPlot from '../vendor/uPlot.esm.js';
import { api } from './api.js';
import { h } from './dom.js';
import { formatValue, labelOf, durationTicks, valueLabel } from './format.js';
import { dataTable } from './table.js';
import { drill, emptyMessage } from './panels.js';
import { canExplain, openSpike, openWhy, whyRequest } from './why.js';
import { addDays, monthStart } from './state.js';

const COLOURS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#17becf', '#8c564b', '#e377c2'];
const MAX_LINES = 8;
const MARK_COLOURS = { spike: '#d62728', anomaly: '#ff7f0e' };
const MARK_NAMES = { spike: 'Spike', anomaly: 'Anomaly', note: 'Note' };

function isoWeek(date) {
  const d = new Date(Date.UTC(+date.slice(0, 4), +date.slice(5, 7) - 1, +date.slice(8, 10)));
  const day = d.getUTCDay() || 7;
  d.setUTCDate(d.getUTCDate() + 4 - day);
  const year = d.getUTCFullYear();
  const week = Math.ceil(((d - Date.UTC(year, 0, 1)) / 86400000 + 1) / 7);
  return `${year}-W${String(week).padStart(2, '0')}`;
}

/** The bucket label of a date ('YYYY-MM-DD…') at a grain. */
export function bucketOf(date, grain) {
  const day = date.slice(0, 10);
  switch (grain) {
    case 'time:day': return day;
    case 'time:week': return isoWeek(day);
    case 'time:month': return day.slice(0, 7);
    case 'time:quarter': return `${day.slice(0, 4)}-Q${Math.floor((+day.slice(5, 7) - 1) / 3) + 1}`;
    default: return day.slice(0, 4);
  }
}

/** The local dates { from, to } (to exclusive) of a bucket label at a grain. */
export function bucketPeriod(label, grain) {
  switch (grain) {
    case 'time:day': return { from: label, to: addDays(label, 1) };
    case 'time:week': {
      // ISO week: week 1 holds 4 January; weeks start on Monday.
      const [year, week] = label.split('-W').map(Number);
      const jan4 = new Date(Date.UTC(year, 0, 4));
      const monday = addDays(jan4.toISOString().slice(0, 10), 1 - (jan4.getUTCDay() || 7) + 7 * (week - 1));
      return { from: monday, to: addDays(monday, 7) };
    }
    case 'time:month': return { from: `${label}-01`, to: monthStart(`${label}-01`, 1) };
    case 'time:quarter': {
      const [year, quarter] = label.split('-Q').map(Number);
      const from = `${year}-${String(3 * quarter - 2).padStart(2, '0')}-01`;
      return { from, to: monthStart(from, 3) };
    }
    default: return { from: `${label}-01-01`, to: `${Number(label) + 1}-01-01` };
  }
}

function seriesData({ spec, keys, result, grain }) {
  const labels = [...new Set(result.rows.map((r) => r.dimensions[grain]))].filter(Boolean).sort();
  const at = new Map(labels.map((l, i) => [l, i]));
  const empty = () => labels.map(() => null);
  const lines = [];
  if (spec.kind === 'lines') {
    const key = keys[0];
    const totals = new Map();
    for (const row of result.rows) {
      const v = row.metrics[key];
      const name = row.dimensions[spec.by];
      if (name === undefined) continue;
      if (!totals.has(name)) totals.set(name, { values: empty(), sum: 0 });
      const line = totals.get(name);
      line.values[at.get(row.dimensions[grain])] = v ? v.value : null;
      line.sum += v && v.value ? Math.abs(v.value) : 0;
    }
    const ranked = [...totals.entries()].sort((a, b) => b[1].sum - a[1].sum);
    for (const [name, line] of ranked.slice(0, MAX_LINES)) lines.push({ label: valueLabel(spec.by, name), values: line.values, cell: { [spec.by]: name }, key });
    return { labels, lines, hidden: Math.max(0, ranked.length - MAX_LINES) };
  }
  const pick = (key, field) => {
    const values = empty();
    for (const row of result.rows) {
      const v = row.metrics[key];
      if (v && at.has(row.dimensions[grain])) values[at.get(row.dimensions[grain])] = v[field] ?? null;
    }
    return values;
  };
  if (spec.kind === 'band') {
    lines.push({ label: 'median', values: pick(keys[0], 'value'), key: keys[0], cell: {} });
    lines.push({ label: 'p90', values: pick(keys[1], 'value'), key: keys[1], cell: {}, band: true });
  } else {
    lines.push({ label: 'value', values: pick(keys[0], 'value'), key: keys[0], cell: {} });
    lines.push({ label: '95 % CI high', values: pick(keys[0], 'ci_high'), key: keys[0], cell: {}, band: true });
    lines.push({ label: '95 % CI low', values: pick(keys[0], 'ci_low'), key: keys[0], cell: {}, band: true });
  }
  return { labels, lines, hidden: 0 };
}

function markPlugin(labels, marks, grain) {
  const points = marks
    .map((m) => ({ ...m, x: labels.indexOf(bucketOf(m.date, grain)) }))
    .filter((m) => m.x >= 0);
  return {
    points,
    hooks: {
      draw: [(u) => {
        const ctx = u.ctx;
        ctx.save();
        for (const m of points) {
          const x = Math.round(u.valToPos(m.x, 'x', true));
          ctx.strokeStyle = MARK_COLOURS[m.kind] || '#555';
          ctx.setLineDash(m.kind === 'note' ? [4, 4] : []);
          ctx.lineWidth = 1.5 * devicePixelRatio;
          ctx.beginPath();
          ctx.moveTo(x, u.bbox.top);
          ctx.lineTo(x, u.bbox.top + u.bbox.height);
          ctx.stroke();
        }
        ctx.restore();
      }],
    },
  };
}

/** A button deleting an annotation (for tokens that may write); the page redraws after. */
function deleteNote(mark) {
  const button = h('button', { type: 'button', class: 'link delete-note', 'aria-label': `Delete the note “${mark.text}”` }, 'delete');
  button.addEventListener('click', () => {
    button.disabled = true;
    api(`/api/v1/annotations/${mark.id}`, { method: 'DELETE' })
      .then(() => document.dispatchEvent(new CustomEvent('vitals:changed')))
      .catch((error) => { button.disabled = false; button.textContent = error.message; });
  });
  return button;
}

/** A chart with its legend, its marks listed, and its data as a table under it. */
export function timeChart(ctx, { spec, keys, result, grain, unit, title, marks = [] }) {
  const { labels, lines, hidden } = seriesData({ spec, keys, result, grain });
  if (!labels.length || lines.every((l) => l.values.every((v) => v === null))) {
    return emptyMessage(ctx, keys);
  }
  const marker = markPlugin(labels, marks, grain);
  const holder = h('div', { class: 'chart', role: 'img', 'aria-label': `${title}: chart; the numbers are in the data table below` });
  const series = [{ label: grain.replace('time:', '') }];
  lines.forEach((line, i) => {
    const colour = spec.kind === 'lines' ? COLOURS[i % COLOURS.length] : line.band ? '#9ab' : '#1f4e79';
    series.push({
      label: line.label,
      stroke: colour,
      width: line.band ? 1 : 2,
      dash: line.band ? [4, 3] : undefined,
      spanGaps: false,
      value: (u, v) => formatValue(unit, v),
    });
  });
  const bands = spec.kind === 'band' ? [{ series: [2, 1], fill: 'rgba(31,78,121,0.15)' }]
    : spec.kind === 'ci' ? [{ series: [2, 3], fill: 'rgba(31,78,121,0.15)' }] : [];
  // Durations tick at round durations (15 min, 1 h, 6 h, 1 d …), from zero.
  const durations = unit === 'seconds';
  const yScale = durations
    ? { range: (u, min, max) => { const t = durationTicks(min, max); return [t[0], t[t.length - 1]]; } }
    : {};
  const yAxis = {
    size: 80,
    stroke: 'currentColor',
    values: (u, splits) => {
      const shown = splits.map((v) => formatValue(unit, v));
      // The axis's ticks as data, for tests and assistive tools: seconds, and as shown.
      if (durations) {
        holder.dataset.yTicks = splits.join(',');
        holder.dataset.yLabels = shown.join('|');
      }
      return shown;
    },
  };
  if (durations) yAxis.splits = (u, i, min, max) => durationTicks(min, max).filter((t) => t >= min - 1e-9 && t <= max + 1e-9);
  const options = {
    width: 600,
    height: ctx.state.wall ? 340 : 240,
    series,
    bands,
    scales: { x: { time: false }, y: yScale },
    axes: [
      { values: (u, splits) => splits.map((i) => labels[i] ?? ''), stroke: 'currentColor' },
      yAxis,
    ],
    cursor: { focus: { prox: 24 } },
    legend: { live: true },
    plugins: [{ hooks: marker.hooks }],
  };
  const data = [labels.map((_, i) => i), ...lines.map((l) => l.values)];
  const wrap = h('div', { class: 'chart-wrap' }, holder);
  const plot = new uPlot(options, data, holder);
  new ResizeObserver(() => {
    const width = Math.max(280, holder.clientWidth);
    if (width !== plot.width) plot.setSize({ width, height: options.height });
  }).observe(holder);
  if (ctx.features.drill) {
    plot.over.classList.add('drillable');
    plot.over.addEventListener('click', () => {
      const i = plot.cursor.idx;
      if (i === null || i === undefined) return;
      let line = lines[0];
      if (spec.kind === 'lines') {
        const y = plot.posToVal(plot.cursor.top, 'y');
        line = lines.reduce((best, l) => (Math.abs((l.values[i] ?? Infinity) - y) < Math.abs((best.values[i] ?? Infinity) - y) ? l : best), lines[0]);
      }
      const request = result.requests[line.key];
      const cell = { [grain]: labels[i], ...line.cell };
      const title = `Why did ${labelOf(ctx.catalogue, line.key)} move in ${labels[i]}?`;
      const why = canExplain(ctx, line.key)
        ? () => openWhy(ctx, whyRequest(ctx, line.key, bucketPeriod(labels[i], grain), request.filters, line.cell), title,
          () => drill(ctx, request, line.key, cell, why))
        : null;
      drill(ctx, request, line.key, cell, why);
    });
  }
  const notes = [];
  if (hidden) notes.push(h('p', { class: 'note' }, `${hidden} smaller series not drawn (see the table).`));
  if (marker.points.length) {
    notes.push(h('ul', { class: 'marks', 'aria-label': 'Marked on the chart' },
      marker.points.map((m) => h('li', { class: m.kind },
        `${MARK_NAMES[m.kind] || 'Note'} ${labels[m.x]}: ${m.text}`,
        m.spike && m.spike.breakdown && m.spike.breakdown.length
          ? [' ', h('button', { type: 'button', class: 'link why-spike', onclick: () => openSpike(ctx, m.spike, m.report) }, 'Why?')] : null,
        m.kind === 'note' && m.id !== undefined && ctx.canWrite ? deleteNote(m) : null))));
  }
  const table = h('details', { class: 'chart-data' },
    h('summary', {}, 'Data table'),
    dataTable(ctx, { keys, result, name: `${keys[0].replace(':', '-')}-by-${grain.replace('time:', '')}` }));
  wrap.append(...notes, table);
  wrap.setAttribute('data-series', String(lines.length));
  wrap.setAttribute('data-points', String(labels.length));
  wrap.setAttribute('data-grain', grain);

  wrap.setAttribute('aria-label', labelOf(ctx.catalogue, keys[0]));
  return wrap;
}
