// ticket.js — one ticket as a support lead reads it: first what it contributes to each
// metric (its first response time, whether it counted as FCR, its SLA targets met or
// missed), worked out from the catalogue's own definitions; then its record, timeline,
// replies, resolved spans and SLA targets, with instants in the view's zone to the minute
// (the zone named once), durations as durations and field names as words.

import { h } from './dom.js';
import { formatValue, localTime, zoneOf, duration, dueText } from './format.js';

/** A column name in words: 'first_resolution_business_secs' → 'First resolution (business hours)'. */
export function words(name) {
  let text = name.replace(/_secs$/, '').replace(/_at$/, '').replace(/^is_/, '');
  const business = /_business$/.test(text) || /_business_/.test(text);
  text = text.replace(/_business(?=_|$)/, '').replace(/\bfrt\b/, 'first response time').replace(/_id$/, '').replace(/_/g, ' ');
  text = text.charAt(0).toUpperCase() + text.slice(1);
  return business ? `${text} (business hours)` : text;
}

/**
 * Labels of the ticket's columns from the catalogue: a column that is a ticket metric's value
 * is called by the metric's label ('handle_secs' → 'Handle time (tickets)'), its business
 * variant likewise; other columns in words.
 */
function labeller(catalogue) {
  const names = new Map();
  for (const m of catalogue.values()) {
    if (m.entity !== 'ticket') continue;
    const value = column(m.value);
    const business = column(m.business_value);
    if (value && !names.has(value)) names.set(value, m.label);
    if (business && !names.has(business)) names.set(business, `${m.label} (business hours)`);
  }
  return (name) => names.get(name) || words(name);
}

/** A field's value for people: instants in the zone, durations, yes/no, lists. */
function shown(name, value, zone) {
  if (value === null || value === undefined || value === '') return '';
  if (typeof value === 'boolean') return value ? 'yes' : 'no';
  if (/_secs$/.test(name) && typeof value === 'number') return duration(value);
  if ((/_at$|^at$|_from$|_to$|^clock_start$/.test(name)) && typeof value === 'string') return localTime(value, zone);
  if (Array.isArray(value)) return value.join(', ');
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/** `t.column` → 'column' (a plain column of the ticket entity), else null. */
function column(sql) {
  const m = /^t\.([a-z_]+)$/.exec((sql || '').trim());
  return m ? m[1] : null;
}

/**
 * Whether a metric's row filter holds for this ticket, when it is a conjunction of
 * `t.col IS NOT NULL` (null: a filter this page cannot evaluate, so it says nothing).
 */
function filterHolds(filter, row) {
  if (!filter) return true;
  const parts = filter.split(/\s+AND\s+/i);
  let holds = true;
  for (const part of parts) {
    const m = /^\(?\s*t\.([a-z_]+)\s+IS\s+NOT\s+NULL\s*\)?$/i.exec(part.trim());
    if (!m || !(m[1] in row)) return null;
    holds = holds && row[m[1]] !== null && row[m[1]] !== undefined;
  }
  return holds;
}

/** The filter's `t.col IS NOT NULL` columns this ticket lacks. */
function lacking(filter, row) {
  return (filter || '').split(/\s+AND\s+/i)
    .map((part) => /t\.([a-z_]+)\s+IS\s+NOT\s+NULL/i.exec(part))
    .filter((m) => m && (row[m[1]] === null || row[m[1]] === undefined))
    .map((m) => words(m[1]).toLowerCase());
}

/** What the ticket contributes to each ticket metric whose definition is a plain column. */
export function contributions(catalogue, row) {
  const out = [];
  const outside = (m) => `not counted: the metric needs ${lacking(m.filter, row).join(', ')}, which this ticket does not have (yet)`;
  for (const m of catalogue.values()) {
    if (m.entity !== 'ticket' || m.per_bucket || m.bucket_events) continue;
    const holds = filterHolds(m.filter, row);
    if (holds === null) continue;
    if (m.calculation === 'distribution') {
      const col = column(m.value);
      if (!col || !(col in row)) continue;
      const value = row[col];
      if (!holds || value === null || value === undefined) {
        out.push({ metric: m, counted: false, text: holds ? 'not counted: no value for this ticket' : outside(m) });
        continue;
      }
      const business = column(m.business_value);
      const extra = business && row[business] !== null && row[business] !== undefined
        ? `; in business hours ${formatValue(m.unit, row[business])}` : '';
      out.push({ metric: m, counted: true, value, text: `${formatValue(m.unit, value)}${extra}` });
    } else if (m.calculation === 'proportion') {
      const col = column(m.numerator);
      const positive = /^t\.([a-z_]+)\s*>\s*0$/.exec((m.numerator || '').trim());
      const name = col || (positive && positive[1]);
      if (!name || !(name in row)) continue;
      if (!holds || row[name] === null || row[name] === undefined) {
        out.push({ metric: m, counted: false, text: holds ? 'not counted: not in this metric\u2019s sample' : outside(m) });
        continue;
      }
      const yes = col ? Boolean(row[name]) : row[name] > 0;
      out.push({ metric: m, counted: true, value: yes, text: yes ? 'yes \u2014 counts in the numerator' : 'no \u2014 counts in the sample, not the numerator' });
    }
  }
  return out;
}

function list(items, columns, zone) {
  if (!items || !items.length) return h('p', { class: 'status' }, 'None.');
  return h('div', { class: 'table-wrap' }, h('table', { class: 'data' },
    h('thead', {}, h('tr', {}, columns.map((c) => h('th', { scope: 'col' }, words(c).replace(/^Met$/, 'Met target'))))),
    h('tbody', {}, items.map((item) => h('tr', {}, columns.map((c) => h('td', { dataset: { field: c } }, shown(c, item[c], zone))))))));
}

function fields(object, zone, label = words) {
  return h('dl', { class: 'facts' }, Object.entries(object || {})
    .filter(([, v]) => v !== null && v !== undefined && v !== '')
    .flatMap(([k, v]) => [h('dt', {}, label(k)), h('dd', { dataset: { field: k } }, shown(k, v, zone))]));
}

/**
 * One SLA target in words: 'First reply (policy urgent, business clock): met — 25 min of 1 h';
 * an open one says when it is or was due, against `now`: the server's moment (the ticket
 * answer's `as_of`, as the SLA list uses), else the browser's.
 */
function slaLine(s, zone, now) {
  const target = `${words(s.target)} (policy ${s.policy}, ${s.clock} clock)`;
  const took = s.elapsed_secs !== null && s.elapsed_secs !== undefined ? duration(s.elapsed_secs) : '?';
  const of = s.target_secs !== null && s.target_secs !== undefined ? duration(s.target_secs) : '?';
  let verdict;
  if (s.met === true) verdict = `met \u2014 ${took} of ${of}`;
  else if (s.met === false) verdict = `missed \u2014 ${took} against ${of}`;
  else if (s.due_at) verdict = `open, target ${of} \u2014 due ${localTime(s.due_at, zone)}, ${dueText(s.due_at, now)}`;
  else verdict = `open, target ${of} \u2014 clock paused after ${took}`;
  const late = s.met !== true && s.met !== false && s.due_at && new Date(s.due_at) < new Date(now);
  return h('li', { class: s.met === false || late ? 'missed' : s.met === true ? 'met' : 'open' }, h('strong', {}, target), `: ${verdict}`);
}

/** The ticket's view: contributions first, then the records behind them. */
export function ticketView(ctx, t) {
  const zone = zoneOf(ctx);
  const label = labeller(ctx.catalogue);
  const row = { ...(t.ticket || {}), ...(t.facts || {}) };
  const counted = contributions(ctx.catalogue, row);
  const replies = t.replies || [];
  const sla = t.sla || [];
  const metricItems = counted.map((c) => h('li', { class: c.counted ? 'counted' : 'not-counted', dataset: { metric: c.metric.id } },
    h('strong', {}, c.metric.label), `: ${c.text}`));
  if (replies.length && ctx.catalogue.has('average_response_time')) {
    const waits = replies.map((r) => r.wait_secs).filter((w) => w !== null && w !== undefined);
    metricItems.push(h('li', { class: 'counted', dataset: { metric: 'average_response_time' } },
      h('strong', {}, ctx.catalogue.get('average_response_time').label),
      `: ${waits.length} ${waits.length === 1 ? 'reply' : 'replies'} counted, waits ${waits.map(duration).join(', ')}`));
  }
  return [
    h('p', { class: 'note ticket-zone' }, `Times in ${zone}, to the minute.`),
    h('section', { class: 'ticket contributions' }, h('h3', {}, 'What this ticket counts for'),
      metricItems.length ? h('ul', {}, metricItems) : h('p', { class: 'status' }, 'This ticket has no derived facts yet.'),
      sla.length ? h('ul', { class: 'sla-outcomes' }, sla.map((s) => slaLine(s, zone, t.as_of || new Date()))) : h('p', { class: 'status' }, 'No SLA target applies to this ticket (no configured policy matches it).')),
    h('section', { class: 'ticket' }, h('h3', {}, 'Ticket'), fields(t.ticket, zone, label)),
    h('section', { class: 'ticket' }, h('h3', {}, 'Timeline'),
      list(t.timeline, ['at', 'kind', 'author_role', 'author_id', 'agent_id', 'status', 'public', 'channel'], zone)),
    h('section', { class: 'ticket' }, h('h3', {}, 'Replies'), list(replies, ['clock_start', 'replied_at', 'agent_id', 'wait_secs', 'wait_business_secs'], zone)),
    h('section', { class: 'ticket' }, h('h3', {}, 'Resolved spans'), list(t.resolved_spans, ['resolved_from', 'resolved_to'], zone)),
    h('section', { class: 'ticket' }, h('h3', {}, 'SLA targets'), list(sla, ['policy', 'target', 'clock', 'target_secs', 'elapsed_secs', 'met', 'due_at', 'ended_by'], zone)),
    h('details', { class: 'ticket' }, h('summary', {}, 'All derived facts'), fields(t.facts, zone, label)),
  ];
}
