// why.js — "Why did it move?": a number's change against the period before, split over the
// segments of every dimension (POST /api/v1/why, the same answer as `vitals why --json`), in
// the dialog: dimensions ranked by explanatory power, each segment's rate and mix effects
// (or its count change), its value, n and share in both periods, its own change and its
// significance, with `other`, new and vanished segments marked, and the two top dimensions
// together (`pairs`: channel × team); each segment opens its records (drill.js). A spike's breakdown — which categories and channels made its excess —
// is shown the same way, from the spike's own answer (GET /api/v1/spikes).

import { api } from './api.js';
import { h, replace, loading, errorBox } from './dom.js';
import { formatValue, formatChange, dimensionLabel, valueLabel, splitKey, pText } from './format.js';
import { openDrill, showDialog } from './drill.js';
import { addDays } from './state.js';

/** The calculations `why` splits (proportions, means and quantiles, NPS, counts). */
const EXPLAINED = new Set(['count', 'backlog', 'proportion', 'repeat_purchase', 'retention', 'churn', 'nps', 'distribution']);

const percent = new Intl.NumberFormat('en', { style: 'percent', maximumFractionDigits: 0 });

/** Whether the server explains changes and the metric of `key` is one it splits. */
export function canExplain(ctx, key) {
  const metric = ctx.catalogue.get(splitKey(key).id);
  return Boolean(ctx.features.why && metric && EXPLAINED.has(metric.calculation));
}

/**
 * The `why` request of a metric key over `period` ({from, to}; empty dates: the latest complete
 * month) against the view's comparison, in the view's zone, with `filters` and the non-time
 * values of `cell` pinned as filters (a metric always broken down is explained within one value).
 */
export function whyRequest(ctx, key, period, filters = [], cell = {}) {
  const ask = { metric: key, vs: ctx.state.compare === 'yoy' ? 'same-last-year' : 'previous', filters: [...filters] };
  if (period.from && period.to) {
    ask.from = period.from;
    ask.to = period.to;
  }
  if (ctx.state.tz) ask.timezone = ctx.state.tz;
  for (const [dimension, value] of Object.entries(cell)) {
    if (!dimension.startsWith('time:') && value !== null && value !== undefined) ask.filters.push({ dimension, is: [value] });
  }
  return ask;
}

/** Opens the breakdown of `ask`'s change; `back` returns to where it was opened from. */
export function openWhy(ctx, ask, title, back = null) {
  const body = h('div', { 'aria-busy': 'true' }, loading('Explaining the change…'));
  showDialog(title, body, back);
  const again = () => openWhy(ctx, ask, title, back);
  api('/api/v1/why', { method: 'POST', body: ask })
    .then((answer) => replace(body, whyView(ctx, ask, answer, again)))
    .catch((error) => replace(body, errorBox(error)))
    .finally(() => body.setAttribute('aria-busy', 'false'));
}

function share(value) {
  return value === null || value === undefined ? '–' : percent.format(value);
}

function change(unit, value) {
  return formatChange(unit, { change: value }) || '–';
}

function verdict(significant, p) {
  if (significant === null || significant === undefined) return 'no test';
  return `${significant ? 'yes' : 'no'}${p === null || p === undefined ? '' : ` (${pText(p)})`}`;
}

const KINDS = {
  rate: 'rate: it got better or worse',
  mix: 'mix: its share of the work changed',
  count: 'its count changed',
  new: 'new: absent before',
  vanished: 'vanished: absent now',
};

function side(unit, s) {
  return `${formatValue(unit, s.value)} · n\u00a0${s.n} · ${share(s.share)}`;
}

function whyView(ctx, ask, a, again) {
  const unit = a.unit;
  const test = a.significant === null || a.significant === undefined
    ? 'no test of the total'
    : `${a.significant ? 'significant' : 'not significant'} (${pText(a.p_value)})`;
  const summary = h('p', { class: 'why-summary' },
    `${a.label}: ${formatValue(unit, a.value)} (n = ${a.n}) from ${a.period.from} to ${a.period.to} (${a.timezone}) against `,
    `${formatValue(unit, a.previous)} (n = ${a.previous_n}) from ${a.comparison.from} to ${a.comparison.to}: `,
    h('strong', {}, a.change === null ? 'no change to explain' : change(unit, a.change)), `, ${test}.`);
  const how = h('p', { class: 'note' }, a.method === 'count'
    ? 'Each segment’s contribution is its own count change; the contributions add up to the change.'
    : 'Rate effect: the segment got better or worse; mix effect: it became a bigger or smaller share of the work. They add up to its contribution, and the contributions to the change'
      + (a.method === 'quantile' ? ' of the segments’ share-weighted quantiles; the rest is the remainder line.' : '.')
      + ' Significant: its own change (or its share’s, for mix, new and vanished) after adjusting every test of the answer together.');
  const dimensions = a.dimensions.map((d, i) => dimensionView(ctx, ask, a, d, i === 0, again));
  const pairs = (a.pairs || []).map((d) => dimensionView(ctx, ask, a, d, false, again, 'why-pair'));
  return h('div', { class: 'why-answer', dataset: { request: JSON.stringify(ask), metric: a.metric } },
    summary, how,
    dimensions.length ? dimensions : h('p', { class: 'status' }, 'Nothing to split: no change, or no dimension to split by.'),
    pairs.length ? [h('h3', { class: 'why-pairs' }, 'The two top dimensions together'), pairs] : null);
}

const PAIR = ' × ';

/** The dimensions of a segment (one, or a pair joined by ' × ') and its values, by dimension. */
function cellOf(dimension, value) {
  const dimensions = dimension.split(PAIR);
  const values = dimensions.length === 1 ? [value] : String(value).split(PAIR);
  return { dimensions, cell: Object.fromEntries(dimensions.map((d, i) => [d, values[i]])) };
}

function dimensionView(ctx, ask, a, d, open, again, kind = 'why-dimension') {
  const unit = a.unit;
  const ratio = a.method !== 'count';
  const name = d.dimension.split(PAIR).map(dimensionLabel).join(PAIR);
  const drivers = d.segments.filter((s) => s.driver).map((s) => valueLabel(d.dimension, s.value));
  const head = drivers.length
    ? `${name}: ${drivers.join(', ')} explain${drivers.length === 1 ? 's' : ''} ${share(d.explained)} of the change`
    : `${name}: no segment stands out`;
  const columns = ['Segment', 'What moved', ...(ratio ? ['Rate effect', 'Mix effect'] : []), 'Contribution', 'Now', 'Before', 'Own change (95 % CI)', 'Significant', 'Records'];
  const rows = d.segments.map((s) => {
    const interval = s.change_low === null || s.change_low === undefined ? ''
      : ` [${change(unit, s.change_low)}, ${change(unit, s.change_high)}]`;
    const { dimensions, cell } = cellOf(d.dimension, s.value);
    const drillable = ctx.features.drill && s.kind !== 'other' && s.value !== null && s.current.n > 0
      && !Object.values(cell).includes('(none)');
    const records = drillable ? h('button', {
      type: 'button', class: 'link segment-records', dataset: { n: s.current.n },
      onclick: () => openDrill(ctx, {
        metrics: [a.metric], from: a.period.from, to: a.period.to, timezone: a.timezone,
        filters: ask.filters, by: dimensions,
      }, cell, `${a.label} — ${name}: ${valueLabel(d.dimension, s.value)}`, { back: again }),
    }, `${s.current.n} records`) : '';
    return h('tr', { class: s.driver ? 'driver' : null, dataset: { value: s.value === null ? '' : s.value, kind: s.kind, contribution: s.contribution } },
      h('th', { scope: 'row' }, s.kind === 'other' ? `other (${s.folded} small segments)` : valueLabel(d.dimension, s.value)),
      h('td', {}, KINDS[s.kind] || s.kind),
      ratio ? [h('td', { class: 'num' }, change(unit, s.rate_effect)), h('td', { class: 'num' }, change(unit, s.mix_effect))] : null,
      h('td', { class: 'num' }, `${change(unit, s.contribution)} (${share(s.share_of_change)})`),
      h('td', { class: 'num' }, side(unit, s.current)),
      h('td', { class: 'num' }, side(unit, s.previous)),
      h('td', { class: 'num' }, s.change === null ? '–' : change(unit, s.change) + interval),
      h('td', {}, verdict(s.significant, s.p_adjusted)),
      h('td', {}, records));
  });
  if (a.method === 'quantile') {
    rows.push(h('tr', { class: 'remainder' },
      h('th', { scope: 'row' }, 'remainder'), h('td', {}, 'not explained by the segments’ quantiles'),
      h('td', {}), h('td', {}), h('td', { class: 'num' }, change(unit, d.remainder)), h('td', { colspan: 5 })));
  }
  return h('details', { class: kind, open, dataset: { dimension: d.dimension } },
    h('summary', {}, head),
    h('div', { class: 'table-wrap' }, h('table', { class: 'data why-segments' },
      h('thead', {}, h('tr', {}, columns.map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, rows))));
}

/** The values that made a spike's excess, in words: 'category billing +42, channel email +42'. */
export function spikeDrivers(spike) {
  return (spike.breakdown || []).flatMap((d) => d.segments.filter((s) => s.driver)
    .map((s) => `${dimensionLabel(d.dimension).toLowerCase()} ${valueLabel(d.dimension, s.value)} +${formatValue('count', Math.round(s.excess * 10) / 10)}`))
    .join(', ');
}

/** Opens a spike's breakdown; each value opens that day's tickets of it. `report`: the spikes answer. */
export function openSpike(ctx, spike, report) {
  const filters = spike.value !== null && spike.value !== undefined && report.by ? [{ dimension: report.by, is: [spike.value] }] : [];
  const sections = (spike.breakdown || []).map((d) => h('section', { class: 'spike-dimension', dataset: { dimension: d.dimension } },
    h('h3', {}, dimensionLabel(d.dimension)),
    h('div', { class: 'table-wrap' }, h('table', { class: 'data' },
      h('thead', {}, h('tr', {}, ['Value', 'Tickets', 'Expected', 'Part of the excess', 'Share of the excess'].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, d.segments.map((s) => h('tr', { class: s.driver ? 'driver' : null, dataset: { value: s.value === null ? '' : s.value, excess: s.excess } },
        h('th', { scope: 'row' }, ctx.features.drill && s.value !== null && s.count > 0
          ? h('button', {
            type: 'button', class: 'link',
            onclick: () => openDrill(ctx, {
              metrics: ['ticket_volume'], from: spike.date, to: addDays(spike.date, 1), timezone: report.timezone, filters, by: [d.dimension],
            }, { [d.dimension]: s.value }, `Tickets of ${spike.date} — ${dimensionLabel(d.dimension)}: ${valueLabel(d.dimension, s.value)}`,
            { back: () => openSpike(ctx, spike, report) }),
          }, valueLabel(d.dimension, s.value))
          : valueLabel(d.dimension, s.value)),
        h('td', { class: 'num' }, formatValue('count', s.count)),
        h('td', { class: 'num' }, formatValue('count', s.expected)),
        h('td', { class: 'num' }, change('count', s.excess)),
        h('td', { class: 'num' }, share(s.share_of_excess)))))))));
  showDialog(`Spike on ${spike.date}${spike.value ? ` — ${spike.value}` : ''}`, h('div', { class: 'spike-breakdown', dataset: { date: spike.date, value: spike.value ?? '' } },
    h('p', { class: 'why-summary' }, `${formatValue('count', spike.count)} tickets against ${formatValue('count', spike.expected)} usual for the weekday: ${formatValue('count', spike.excess)} more. `
      + 'Each value is expected its share of the usual tickets (its share of the same weekdays before); its part is its count that day minus that, and the parts add up to the excess.'),
    sections.length ? sections : h('p', { class: 'status' }, 'No breakdown for this spike.')));
}
