// table.js — breakdown tables: one row per cell of a query's result (its dimension values),
// one column per metric with its n; headers sort (click or Enter), values drill into their
// records when the server offers it, and the table downloads as CSV with raw numbers.

import { h, replace } from './dom.js';
import { labelOf, unitOf, formatValue, dimensionLabel, valueLabel } from './format.js';
import { drill, emptyMessage } from './panels.js';

/** Text a spreadsheet would run as a formula (OWASP: = + - @ tab CR first) gets a leading
 * quote; numbers stay numbers. */
export function safeCell(value) {
  if (typeof value !== 'string') return value;
  return /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
}

function csvField(value) {
  const safe = safeCell(value);
  const text = safe === null || safe === undefined ? '' : String(safe);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** The CSV text of a table's columns and rows (raw values, not formatted). */
export function toCsv(columns, rows) {
  const lines = [columns.map((c) => csvField(c.title)).join(',')];
  for (const row of rows) lines.push(columns.map((c) => csvField(c.raw(row))).join(','));
  return lines.join('\r\n') + '\r\n';
}

/** A sortable table of a runKeys result for metric keys. */
export function dataTable(ctx, { keys, result, name }) {
  const dims = [];
  for (const row of result.rows) for (const d of Object.keys(row.dimensions)) if (!dims.includes(d)) dims.push(d);
  const merged = new Map();
  for (const row of result.rows) {
    const id = JSON.stringify(dims.map((d) => row.dimensions[d] ?? null));
    if (!merged.has(id)) merged.set(id, { dimensions: row.dimensions, metrics: {} });
    Object.assign(merged.get(id).metrics, row.metrics);
  }
  const rows = [...merged.values()].filter((r) => keys.some((k) => r.metrics[k]));
  if (!rows.length) return emptyMessage(ctx, keys);

  const columns = dims.map((d) => ({
    title: dimensionLabel(d), dim: true,
    raw: (r) => r.dimensions[d] ?? '', sortValue: (r) => r.dimensions[d] ?? '',
    cell: (r) => valueLabel(d, r.dimensions[d]),
  }));
  for (const key of keys) {
    const unit = unitOf(ctx.catalogue, key);
    columns.push({
      title: labelOf(ctx.catalogue, key),
      raw: (r) => (r.metrics[key] ? r.metrics[key].value : ''),
      sortValue: (r) => (r.metrics[key] && r.metrics[key].value !== null ? r.metrics[key].value : -Infinity),
      cell: (r) => {
        const v = r.metrics[key];
        if (!v) return '';
        const text = formatValue(unit, v.value);
        if (!ctx.features.drill || !v.n) return text;
        return h('button', {
          type: 'button', class: 'link', title: `Show the ${v.n} records behind this number`,
          onclick: () => drill(ctx, result.requests[key], key, r.dimensions),
        }, text);
      },
    });
    columns.push({
      title: `n (${labelOf(ctx.catalogue, key)})`, short: 'n', numeric: true,
      raw: (r) => (r.metrics[key] ? r.metrics[key].n : ''),
      sortValue: (r) => (r.metrics[key] ? r.metrics[key].n : -1),
      cell: (r) => (r.metrics[key] ? String(r.metrics[key].n) : ''),
    });
  }

  let sortBy = -1;
  let descending = false;
  const tbody = h('tbody');
  const headers = columns.map((column, i) => h('th', { scope: 'col', class: column.dim ? '' : 'num', 'aria-sort': 'none' },
    h('button', { type: 'button', class: 'sort', title: `Sort by ${column.title}`, onclick: () => sort(i) }, column.short || column.title)));
  function render() {
    const sorted = sortBy < 0 ? rows : [...rows].sort((a, b) => {
      const x = columns[sortBy].sortValue(a);
      const y = columns[sortBy].sortValue(b);
      const order = typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y));
      return descending ? -order : order;
    });
    replace(tbody, sorted.map((r) => h('tr', {}, columns.map((c) => h(c.dim ? 'th' : 'td', c.dim ? { scope: 'row' } : { class: 'num' }, c.cell(r))))));
    headers.forEach((th, i) => th.setAttribute('aria-sort', i === sortBy ? (descending ? 'descending' : 'ascending') : 'none'));
  }
  function sort(i) {
    descending = sortBy === i ? !descending : !columns[i].dim;
    sortBy = i;
    render();
  }
  render();

  const download = h('button', {
    type: 'button', class: 'csv',
    onclick: () => {
      const blob = new Blob([toCsv(columns, rows)], { type: 'text/csv' });
      const url = URL.createObjectURL(blob);
      const a = h('a', { href: url, download: `vitals-${name}.csv` });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 1000);
    },
  }, 'Download CSV');
  return h('div', { class: 'table-block' },
    h('div', { class: 'table-wrap' }, h('table', { class: 'data', dataset: { name } }, h('thead', {}, h('tr', {}, headers)), tbody)),
    download);
}
