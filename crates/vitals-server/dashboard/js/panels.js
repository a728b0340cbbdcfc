// panels.js — the pieces of a tab: headline cards, time-series charts, the weekday × hour
// heat map, breakdown and composition tables, and the SLA lists. Each panel runs its own
// queries (in parallel, one per set of filters that apply) and shows a loading, error or
// empty state of its own; every number can be drilled into when the server offers it, and
// a card's change explained ("Why?", why.js).

import { api, query } from './api.js';
import { h, replace, loading, errorBox } from './dom.js';
import {
  labelOf, unitOf, formatValue, formatChange, filtersFor, isPlain, splitKey, dimensionLabel, valueLabel, localTime, dueText, zoneOf, pText,
} from './format.js';
import { timeChart } from './charts.js';
import { heatmap } from './heatmap.js';
import { dataTable } from './table.js';
import { openDrill, openTicket } from './drill.js';
import { canExplain, openWhy, whyRequest } from './why.js';

/** The request fields every query of the view shares: period, zone. */
export function baseRequest(ctx) {
  const request = {};
  if (ctx.period.from) request.from = ctx.period.from;
  if (ctx.period.to) request.to = ctx.period.to;
  if (ctx.state.tz) request.timezone = ctx.state.tz;
  return request;
}


/**
 * Why a panel has nothing to show, and what to do: a filter that excludes everything, or no
 * records in the period. `what` names the records: text, or the metric keys shown.
 */
export function emptyMessage(ctx, what = 'records') {
  if (Array.isArray(what)) what = `records behind ${what.map((k) => labelOf(ctx.catalogue, k).toLowerCase()).join(', ')}`;
  const filters = Object.entries(ctx.state.filters || {}).filter(([, v]) => v && v.length)
    .map(([k, v]) => `${k} ${v.join('/')}`);
  const period = `${ctx.period.from || ctx.extent.from} – ${ctx.period.to || ctx.extent.to}`;
  const text = filters.length
    ? `Nothing to show: the filter (${filters.join('; ')}) excludes every one of the ${what} in ${period}. Clear or widen the filter to see them.`
    : `No ${what} in ${period}. Choose a longer period, or import data that has them.`;
  return h('p', { class: 'status empty', dataset: { empty: filters.length ? 'filter' : 'period' } }, text);
}

/**
 * The period and grain a metric is charted at: its natural grain (months, for retention, churn,
 * CAC, CLV, engagement) over the twelve months to the view's end, whatever the view's period;
 * else the view's own. Returns { period, grain, note } (note: '' unless the grain is the metric's).
 */
export function chartScope(ctx, metric) {
  if (!metric || !metric.natural_grain) return { period: ctx.period, grain: ctx.grain, note: '' };
  const to = ctx.period.to || ctx.extent.to;
  const [y, m] = to.split('-').map(Number);
  const last = new Date(Date.UTC(y, m - 1, Number(to.slice(8, 10)) - 1));
  const from = new Date(Date.UTC(last.getUTCFullYear(), last.getUTCMonth() - 11, 1)).toISOString().slice(0, 10);
  const grain = metric.natural_grain;
  const word = grain.replace('time:', '');
  return {
    period: { from: from < ctx.extent.from ? ctx.extent.from : from, to },
    grain,
    note: `Charted by ${word} over the twelve months to ${to}, whatever the period chosen above: ${metric.label.toLowerCase()} is defined over a ${word}.`,
  };
}

/** The dimensions a metric always adds (its share-of dimension, its breakdown). */
function ownDimensions(metric) {
  return [metric.share_of, ...(metric.breakdown || [])].filter(Boolean);
}

/**
 * Runs metric keys broken down by `by`: metrics that share the filters that apply to them
 * share one query. Returns { rows: [{dimensions, metrics}], requests: {key → request},
 * unused: {key → [filter names that do not apply]}, anchors, warnings }.
 */
export async function runKeys(ctx, keys, by = [], { compare = false } = {}) {
  const groups = new Map();
  const unused = {};
  for (const key of keys) {
    const metric = ctx.catalogue.get(splitKey(key).id);
    const fit = filtersFor(metric, ctx.state.filters);
    unused[key] = fit.unused;
    const extra = isPlain(metric) ? [] : ownDimensions(metric).filter((d) => !by.includes(d));
    const signature = JSON.stringify([fit.filters, extra.length ? key : '']);
    if (!groups.has(signature)) {
      const request = { ...baseRequest(ctx), metrics: [], by: [...by, ...extra], filters: fit.filters };
      if (compare && ctx.state.compare) request.compare = ctx.state.compare;
      groups.set(signature, request);
    }
    groups.get(signature).metrics.push(key);
  }
  const answers = await Promise.all([...groups.values()].map((r) => query(r)));
  const rows = [];
  const requests = {};
  const anchors = {};
  const warnings = [];
  [...groups.values()].forEach((request, i) => {
    const answer = answers[i];
    for (const key of request.metrics) requests[key] = request;
    Object.assign(anchors, answer.query.anchors || {});
    warnings.push(...((answer.meta && answer.meta.warnings) || []));
    rows.push(...answer.results);
  });
  return { rows, requests, unused, anchors, warnings };
}

/**
 * A panel: a titled section whose body shows loading, then the result of `fill` or an error.
 * It is filled when it comes into view (`data-pending` marks panels not yet filled): at once
 * when it is in the tab's first screen; otherwise after `after` (the headline cards), so the
 * first screen does not share the server with queries nobody looks at yet. Once the cards are
 * shown, the panels further down are filled in the background, ready when scrolled to.
 */
export function panel(title, fill, { wide = false, actions = null, after = null } = {}) {
  const body = h('div', { class: 'panel-body' }, loading());
  const id = 'p-' + Math.random().toString(36).slice(2, 9);
  const section = h('section', { class: wide ? 'panel wide' : 'panel', 'aria-labelledby': id, 'data-pending': '' },
    h('header', { class: 'panel-head' }, h('h3', { id }, title), actions),
    body);
  const start = () => {
    section.removeAttribute('data-pending');
    section.setAttribute('aria-busy', 'true');
    Promise.resolve()
      .then(() => fill(body, section))
      .catch((error) => replace(body, errorBox(error)))
      .finally(() => section.setAttribute('aria-busy', 'false'));
  };
  let first = true;
  const watcher = new IntersectionObserver((entries) => {
    const inView = entries.some((e) => e.isIntersecting);
    // A panel in view when the tab opens is part of its first screen: it starts at once.
    if (inView) {
      watcher.disconnect();
      if (first) start();
      else Promise.resolve(after).finally(start);
    }
    first = false;
  });
  watcher.observe(section);
  if (after) Promise.resolve(after).finally(() => setTimeout(() => {
    if (section.isConnected && section.hasAttribute('data-pending')) {
      watcher.disconnect();
      start();
    }
  }, 0));
  return section;
}

function cellLabel(cell) {
  const parts = Object.entries(cell).map(([d, v]) => `${dimensionLabel(d)}: ${valueLabel(d, v)}`);
  return parts.length ? parts.join(', ') : 'the whole period';
}

/**
 * Opens the records behind one number (a metric in one cell of a request); `why`, when given,
 * opens the breakdown of its change from there.
 */
export function drill(ctx, request, key, cell, why = null) {
  const keep = {};
  for (const d of request.by) if (cell[d] !== undefined) keep[d] = cell[d];
  const base = { ...request, metrics: [key] };
  delete base.compare;
  openDrill(ctx, base, keep, `${labelOf(ctx.catalogue, key)} — ${cellLabel(keep)}`, { why });
}

/** A card with its "Why?" button, which opens the breakdown of its change, when it has one. */
function withWhy(ctx, element, key, dims, request) {
  if (!canExplain(ctx, key)) return element;
  const title = `Why did ${labelOf(ctx.catalogue, key)} move?`;
  return h('div', { class: 'card-holder' }, element,
    h('button', {
      type: 'button', class: 'why', title, 'aria-label': title,
      onclick: () => openWhy(ctx, whyRequest(ctx, key, ctx.period, request.filters, dims), title),
    }, 'Why?'));
}

function significance(compare) {
  if (!compare || compare.significant === null || compare.significant === undefined) return 'no test';
  const p = compare.p_value === null || compare.p_value === undefined ? '' : ` (${pText(compare.p_value)})`;
  return (compare.significant ? 'significant' : 'not significant') + p;
}

function card(ctx, key, value, dims, anchor, unused, request) {
  const unit = unitOf(ctx.catalogue, key);
  const metric = ctx.catalogue.get(splitKey(key).id);
  const extra = Object.entries(dims).map(([d, v]) => valueLabel(d, v)).join(', ');
  const title = labelOf(ctx.catalogue, key) + (extra ? ` — ${extra}` : '');
  const tip = `Counts by: ${anchor || (metric && metric.counts_by) || '?'}`;
  const parts = [
    h('span', { class: 'card-label' }, title),
    h('span', { class: 'card-value', dataset: { key, value: value.value ?? '' } }, formatValue(unit, value.value)),
  ];
  if (value.compare) {
    const c = value.compare;
    const better = metric && metric.direction !== 'neutral' && c.change
      ? ((c.change > 0) === (metric.direction === 'higher') ? 'up-good' : 'up-bad') : '';
    parts.push(h('span', { class: `card-change ${better} ${c.significant ? 'sig' : ''}` },
      `${formatChange(unit, c) || '–'} vs ${formatValue(unit, c.value)} · ${significance(c)}`));
  }
  const meta = [`n = ${value.n ?? 0}`];
  if (value.ci_low !== undefined && value.ci_low !== null) meta.push(`95 % CI ${formatValue(unit, value.ci_low)} – ${formatValue(unit, value.ci_high)}`);
  parts.push(h('span', { class: 'card-meta' }, meta.join(' · ')));
  if (value.target !== undefined && value.target !== null) {
    parts.push(h('span', { class: value.on_target ? 'card-target on' : 'card-target off' },
      `Target ${formatValue(unit, value.target)} · ${value.on_target ? 'on target' : 'off target'}`));
  }
  if (unused && unused.length) parts.push(h('span', { class: 'card-note' }, `Not filtered by ${unused.join(', ')}`));
  parts.push(h('span', { class: 'card-anchor' }, tip));
  if (ctx.features.drill && value.n) {
    return h('button', {
      type: 'button', class: 'card', title: `${tip}. Show the ${value.n} records behind this number.`,
      onclick: () => drill(ctx, request, key, dims),
    }, parts);
  }
  return h('div', { class: 'card', title: tip, tabindex: '0' }, parts);
}

/** The headline cards of a tab; `ctx.cardsDone` settles when they are shown. */
export function cards(ctx, keys) {
  const grid = h('div', { class: 'cards', 'aria-busy': 'true' },
    keys.map((key, i) => h('div', { class: 'card placeholder' }, i === 0 ? loading() : null)));
  ctx.cardsDone = runKeys(ctx, keys, [], { compare: true })
    .then(({ rows, requests, unused, anchors }) => {
      const out = [];
      for (const key of keys) {
        for (const row of rows) {
          const value = row.metrics[key];
          if (value) {
            const shown = card(ctx, key, value, row.dimensions, anchors[splitKey(key).id], unused[key], requests[key]);
            out.push(withWhy(ctx, shown, key, row.dimensions, requests[key]));
          }
        }
      }
      replace(grid, out.length ? out : h('p', { class: 'status' }, 'No headline metrics for this tab.'));
    })
    .catch((error) => replace(grid, errorBox(error)))
    .finally(() => grid.setAttribute('aria-busy', 'false'));
  return grid;
}

/** A time-series chart panel (see tabs.js for the kinds). */
export function chart(ctx, spec, marks) {
  const metric = ctx.catalogue.get(spec.metric);
  if (!metric) return null;
  const stat = (s) => (ctx.state.bh && metric.business_value ? 'business_' + s : s);
  const keys = spec.kind === 'band' ? [`${spec.metric}:${stat('median')}`, `${spec.metric}:${stat('p90')}`] : [spec.metric];
  const title = spec.kind === 'band'
    ? `${metric.label}: median and p90`
    : spec.kind === 'ci' ? `${metric.label} with 95 % confidence band` : `${metric.label} by ${dimensionLabel(spec.by).toLowerCase()}`;
  const scope = chartScope(ctx, metric);
  return panel(title, async (body) => {
    const here = { ...ctx, period: scope.period, grain: scope.grain };
    const by = [scope.grain, ...(spec.by ? [spec.by] : [])];
    const result = await runKeys(here, keys, by);
    const marksFor = await marks(spec.by, keys[0], Boolean(spec.marks));
    replace(body,
      scope.note ? h('p', { class: 'note grain-note' }, scope.note) : null,
      timeChart(here, { spec, keys, result, grain: scope.grain, unit: metric.unit, title, marks: marksFor }));
  }, { wide: spec.kind === 'lines', after: ctx.cardsDone });
}

/** The weekday × hour heat map of one metric key. */
export function heat(ctx, key) {
  return panel(`${labelOf(ctx.catalogue, key)} by weekday and hour`, async (body) => {
    const result = await runKeys(ctx, [key], ['time:weekday', 'time:hour']);
    replace(body, heatmap(ctx, key, result));
  }, { wide: true, after: ctx.cardsDone });
}

const MAX_TABLE_METRICS = 8;

/** A breakdown table of the first metric keys that allow one dimension (skipped when none does). */
export function breakdown(ctx, keys, dimension) {
  const allowed = keys.filter((k) => {
    const metric = ctx.catalogue.get(splitKey(k).id);
    return metric && metric.dimensions.includes(dimension) && !metric.share_of;
  }).slice(0, MAX_TABLE_METRICS);
  if (!allowed.length) return null;
  return panel(`By ${dimensionLabel(dimension).toLowerCase()}`, async (body) => {
    const result = await runKeys(ctx, allowed, [dimension]);
    replace(body, dataTable(ctx, { keys: allowed, result, name: dimension.replace(':', '-') }));
  }, { wide: true, after: ctx.cardsDone });
}

/** A metric that is a breakdown by itself (shares of a dimension, per SLA target…). */
export function composition(ctx, id) {
  return panel(labelOf(ctx.catalogue, id), async (body) => {
    const result = await runKeys(ctx, [id], []);
    replace(body, dataTable(ctx, { keys: [id], result, name: id }));
  }, { after: ctx.cardsDone });
}

/** The open SLA targets that breached or are at risk (GET /api/v1/sla), due times in the view's zone. */
export function slaList(ctx, state) {
  const title = state === 'breached' ? 'Breached SLA targets (open tickets)' : 'SLA targets at risk';
  const zone = zoneOf(ctx);
  return panel(title, async (body) => {
    const report = await api(`/api/v1/sla?state=${state}`);
    const targets = report.targets || [];
    const asOf = `as of ${localTime(report.as_of, zone)} (${zone})`;
    if (!targets.length) {
      replace(body, h('p', { class: 'status empty sla-as-of', dataset: { empty: 'none' } },
        state === 'breached'
          ? `No open target has breached, ${asOf}. Targets of open tickets are assessed at this moment; closed tickets count in SLA compliance above.`
          : `No open target is at risk, ${asOf}: every running target has more than its policy's at-risk share of time left.`));
      return;
    }
    const shown = targets.slice(0, 25);
    replace(body,
      h('p', { class: 'status sla-as-of' }, `${targets.length} ${asOf}; due times in ${zone}${targets.length > shown.length ? ' (the first 25 shown; `vitals sla` lists all)' : ''}.`),
      h('div', { class: 'table-wrap' }, h('table', { class: 'data sla-targets' },
        h('thead', {}, h('tr', {}, ['Ticket', 'Target', 'Policy', 'Team', 'Agent', 'Due', 'When'].map((c) => h('th', { scope: 'col' }, c)))),
        h('tbody', {}, shown.map((t) => h('tr', {},
          h('td', {}, h('button', { type: 'button', class: 'link', onclick: () => openTicket(ctx, t.ticket_id) }, t.ticket_id)),
          h('td', {}, t.target.replace(/_/g, ' ')), h('td', {}, t.policy), h('td', {}, t.team || ''), h('td', {}, t.agent_id || ''),
          h('td', { class: 'due', dataset: { at: t.due_at || '' } }, localTime(t.due_at, zone)),
          h('td', { class: 'relative' }, t.due_at ? dueText(t.due_at, report.as_of) + (t.running ? '' : ' (clock paused)') : (t.running ? '' : 'clock paused'))))))));
  }, { wide: true, after: ctx.cardsDone });
}

/**
 * The SLA tab when no SLA policy is configured: nothing is measured, so instead of empty
 * panels, say so and show how to add one.
 */
export function slaNotConfigured() {
  return h('section', { class: 'empty-state sla-unconfigured', 'aria-labelledby': 'sla-none-title' },
    h('h3', { id: 'sla-none-title' }, 'No SLA policy is configured'),
    h('p', {}, 'SLA compliance, breaches and targets at risk are measured against the policies of the configuration; this server has none, so there is nothing to show yet — not an absence of breaches.'),
    h('p', {}, 'Add a policy to the configuration file (one ', h('code', {}, '[[sla]]'), ' table per policy; the first whose ', h('code', {}, 'when'), ' matches a ticket applies):'),
    h('pre', {}, '[[sla]]\nname = "standard"\nfirst_reply = "4h"\nnext_reply = "8h"\nresolution = "3d"\nclock = "business"          # or "calendar"\npause_on = ["pending", "on_hold"]\nat_risk = 0.2               # at risk with 20 % of the time left\n\n[[sla]]\nname = "urgent"\nwhen = { priority = ["urgent"] }\nfirst_reply = "1h"\nresolution = "16h"'),
    h('p', {}, 'then run ', h('code', {}, 'vitals derive --db STORE --config FILE'), ' and restart ', h('code', {}, 'vitals serve'), ' with that ', h('code', {}, '--config'), '.'));
}
