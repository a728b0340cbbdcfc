// heatmap.js — the weekday × hour heat map as a CSS grid (no chart library): one cell per
// local hour of the week, shaded by value, with the value in its tooltip; a cell drills
// into its records when the server offers it.

import { h } from './dom.js';
import { formatValue, unitOf, labelOf } from './format.js';
import { drill, emptyMessage } from './panels.js';

const DAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];

/** The heat map of a runKeys result broken down by time:weekday and time:hour. */
export function heatmap(ctx, key, result) {
  const unit = unitOf(ctx.catalogue, key);
  const values = new Map();
  let max = 0;
  for (const row of result.rows) {
    const v = row.metrics[key];
    if (!v || v.value === null) continue;
    values.set(`${row.dimensions['time:weekday']} ${row.dimensions['time:hour']}`, v);
    max = Math.max(max, v.value);
  }
  if (!values.size) return emptyMessage(ctx, [key]);
  const grid = h('div', { class: 'heatmap', role: 'group', 'aria-label': `${labelOf(ctx.catalogue, key)} by weekday and local hour; darkest ${formatValue(unit, max)}` });
  grid.append(h('span', { class: 'corner' }));
  for (let hour = 0; hour < 24; hour++) grid.append(h('span', { class: 'hour' }, hour % 3 === 0 ? String(hour) : ''));
  for (const day of DAYS) {
    grid.append(h('span', { class: 'day' }, day));
    for (let hour = 0; hour < 24; hour++) {
      const hh = String(hour).padStart(2, '0');
      const v = values.get(`${day} ${hh}`);
      const cell = h('span', { class: 'cell', title: `${day} ${hh}:00 — ${v ? formatValue(unit, v.value) : 'no data'}${v ? ` (n = ${v.n})` : ''}` });
      if (v && max > 0) cell.style.backgroundColor = `rgba(31, 78, 121, ${(0.08 + 0.92 * (v.value / max)).toFixed(3)})`;
      if (v && v.n && ctx.features.drill) {
        const open = () => drill(ctx, result.requests[key], key, { 'time:weekday': day, 'time:hour': hh });
        cell.classList.add('drillable');
        // Reachable by keyboard: Tab to a cell, Enter or Space opens its records.
        cell.tabIndex = 0;
        cell.setAttribute('role', 'button');
        cell.setAttribute('aria-label', cell.title);
        cell.addEventListener('click', open);
        cell.addEventListener('keydown', (event) => {
          if (event.key === 'Enter' || event.key === ' ') {
            event.preventDefault();
            open();
          }
        });
      }
      grid.append(cell);
    }
  }
  return grid;
}
