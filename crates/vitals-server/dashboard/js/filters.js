// filters.js — the one filter bar every tab shares: period (presets or custom dates),
// comparison, time zone, business hours, a wall-display switch and a filter for every
// dimension name (values loaded from the data when the filter is first opened). Every
// change goes into the URL (state.js) and re-renders the view.

import { query } from './api.js';
import { h, replace } from './dom.js';
import { FILTERS, PRESETS, ROTATIONS } from './state.js';

const valueCache = new Map();
let lastOpen = '';  // the filter left open by the last change, reopened after re-rendering

/** The values of a dimension name in the data: every `entity:NAME` dimension, each through a metric that allows it. */
async function valuesOf(catalogue, name) {
  if (valueCache.has(name)) return valueCache.get(name);
  const byDimension = new Map();
  for (const metric of catalogue.values()) {
    for (const d of metric.dimensions) {
      if (d.split(':')[1] === name && !byDimension.has(d) && !metric.share_of && !(metric.breakdown || []).length) byDimension.set(d, metric.id);
    }
  }
  const answers = await Promise.all([...byDimension.entries()].map(([d, id]) => query({ metrics: [id], by: [d] })));
  const values = new Set();
  answers.forEach((a, i) => {
    const d = [...byDimension.keys()][i];
    for (const row of a.results) if (row.dimensions[d]) values.add(row.dimensions[d]);
  });
  const sorted = [...values].sort();
  valueCache.set(name, sorted);
  return sorted;
}

function label(text, control, extra = {}) {
  return h('label', { class: 'field', ...extra }, h('span', {}, text), control);
}

function dimensionFilter(ctx, name, apply) {
  const chosen = ctx.state.filters[name] || [];
  const title = name.charAt(0).toUpperCase() + name.slice(1);
  const summary = h('summary', {}, `${title}: ${chosen.length ? chosen.join(', ') : 'all'}`);
  const list = h('fieldset', {}, h('legend', {}, `${title} values`), h('p', { class: 'status' }, 'Loading…'));
  const details = h('details', { class: 'filter', dataset: { filter: name } }, summary, list);
  details.addEventListener('toggle', async () => {
    lastOpen = details.open ? name : lastOpen === name ? '' : lastOpen;
    if (!details.open || list.dataset.loaded) return;
    list.dataset.loaded = '1';
    try {
      const values = await valuesOf(ctx.catalogue, name);
      const all = [...new Set([...values, ...chosen])];
      replace(list, h('legend', {}, `${title} values`),
        all.length ? all.map((v) => h('label', { class: 'check' },
          h('input', {
            type: 'checkbox', value: v, checked: chosen.includes(v),
            onchange: () => {
              const picked = [...list.querySelectorAll('input:checked')].map((i) => i.value);
              apply((s) => { s.filters = { ...s.filters, [name]: picked }; });
            },
          }), v)) : h('p', { class: 'status' }, 'No values in the data.'),
        chosen.length ? h('button', { type: 'button', onclick: () => apply((s) => { s.filters = { ...s.filters, [name]: [] }; }) }, 'Clear') : null);
    } catch (error) {
      replace(list, h('p', { class: 'status error' }, error.message));
    }
  });
  if (lastOpen === name) details.open = true;
  return details;
}

/** Renders the filter bar into `form`; `apply(mutate)` changes the state and re-renders. */
export function renderFilters(form, ctx, apply) {
  const { state } = ctx;
  const preset = h('select', {
    id: 'period', name: 'period',
    onchange: (e) => apply((s) => {
      s.period = e.target.value;
      if (s.period === 'custom') { s.from = ctx.period.from; s.to = ctx.period.to; }
    }),
  }, PRESETS.map(([id, text]) => h('option', { value: id, selected: state.period === id }, text)));
  const custom = state.period === 'custom'
    ? [
      label('From', h('input', { type: 'date', name: 'from', value: state.from, onchange: (e) => apply((s) => { s.from = e.target.value; }) })),
      label('To (exclusive)', h('input', { type: 'date', name: 'to', value: state.to, onchange: (e) => apply((s) => { s.to = e.target.value; }) })),
    ]
    : [h('span', { class: 'period-text', id: 'period-text' }, ctx.period.from ? `${ctx.period.from} – ${ctx.period.to} (to exclusive)` : 'all data')];
  const compare = h('select', { name: 'compare', onchange: (e) => apply((s) => { s.compare = e.target.value; }) },
    [['', 'No comparison'], ['previous', 'Previous period'], ['yoy', 'Year over year']]
      .map(([v, t]) => h('option', { value: v, selected: state.compare === v }, t)));
  const zones = typeof Intl.supportedValuesOf === 'function' ? Intl.supportedValuesOf('timeZone') : [];
  const tz = h('input', {
    name: 'tz', list: 'zones', value: state.tz, placeholder: ctx.zone || 'server default', size: 18,
    onchange: (e) => apply((s) => { s.tz = e.target.value.trim(); }),
  });
  const business = h('input', { type: 'checkbox', name: 'bh', checked: state.bh, onchange: (e) => apply((s) => { s.bh = e.target.checked; }) });
  const wall = h('input', { type: 'checkbox', name: 'wall', checked: state.wall, onchange: (e) => apply((s) => { s.wall = e.target.checked; }) });
  const choices = ROTATIONS.some(([v]) => v === state.rotate) ? ROTATIONS : [...ROTATIONS, [state.rotate, `Every ${state.rotate} s`]];
  const rotate = h('select', { name: 'rotate', id: 'rotate', onchange: (e) => apply((s) => { s.rotate = Number(e.target.value); }) },
    choices.map(([v, t]) => h('option', { value: String(v), selected: state.rotate === v }, t)));
  replace(form,
    h('div', { class: 'filter-row' },
      label('Period', preset), ...custom,
      label('Compare', compare),
      label('Time zone', tz),
      h('datalist', { id: 'zones' }, zones.map((z) => h('option', { value: z }))),
      label('Business hours', business, { class: 'field check' }),
      label('Wall display', wall, { class: 'field check' }),
      state.wall ? label('Rotate tabs', rotate) : null),
    h('div', { class: 'filter-row dims' }, FILTERS.map((name) => dimensionFilter(ctx, name, apply))));
  form.onsubmit = (e) => e.preventDefault();
}
