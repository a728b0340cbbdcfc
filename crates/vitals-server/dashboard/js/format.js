// format.js — everything the dashboard says about a metric comes from the catalogue
// (/api/v1/catalogue): labels, units, the timestamp a metric counts by, which stats and
// dimensions it allows. This module turns metric keys (`id` or `id:stat`) into labels and
// values into text by the metric's unit, instants into local times of the view's zone (to
// the minute) and spans into readable durations ("3 h 10 min"), picks round duration ticks
// for chart axes, and fits the filter bar's filters to each metric.

const number = (digits) => new Intl.NumberFormat('en', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const whole = new Intl.NumberFormat('en', { maximumFractionDigits: 0 });

/** Splits `id:stat` into { id, stat } (stat '' when absent). */
export function splitKey(key) {
  const i = key.indexOf(':');
  return i < 0 ? { id: key, stat: '' } : { id: key.slice(0, i), stat: key.slice(i + 1) };
}

/** A metric key's label: 'First response time (median)'. */
export function labelOf(catalogue, key) {
  const { id, stat } = splitKey(key);
  const metric = catalogue.get(id);
  const label = metric ? metric.label : id;
  return stat ? `${label} (${stat.replace('business_', 'business ')})` : label;
}

/** A metric key's unit ('count', 'percent', 'seconds', 'score', 'nps', 'currency'). */
export function unitOf(catalogue, key) {
  const metric = catalogue.get(splitKey(key).id);
  return metric ? metric.unit : 'count';
}

/** Seconds in two units at most: '40 s', '7 min 12 s', '3 h 10 min', '2 d 4 h' (zeros left out). */
export function duration(seconds) {
  const s = Math.abs(seconds);
  const sign = seconds < 0 ? '−' : '';
  const pair = (total, unit, big, small) => {
    const a = Math.floor(total / unit);
    const b = total % unit;
    return `${sign}${a} ${big}${b ? ` ${b} ${small}` : ''}`;
  };
  if (s < 59.5) return `${sign}${whole.format(s)} s`;
  if (s < 3599.5) return pair(Math.round(s), 60, 'min', 's');
  if (s < 86370) return pair(Math.round(s / 60), 60, 'h', 'min');
  return pair(Math.round(s / 3600), 24, 'd', 'h');
}

/** Round steps for duration axes, in seconds: 1 s … 30 s, 1 min … 30 min, 1 h … 12 h, 1 d … */
const DURATION_STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800,
  21600, 43200, 86400, 172800, 604800, 1209600, 2592000];

/** Ticks at round durations (about `count` of them) from 0 or `min` up to past `max`. */
export function durationTicks(min, max, count = 4) {
  const lo = Math.max(0, Math.min(min, max));
  const span = Math.max(max - lo, 1);
  const step = DURATION_STEPS.find((s) => span / s <= count) || DURATION_STEPS[DURATION_STEPS.length - 1] * Math.ceil(span / count / DURATION_STEPS[DURATION_STEPS.length - 1]);
  const ticks = [];
  for (let t = Math.floor(lo / step) * step; t <= max + step * 1e-9; t += step) ticks.push(t);
  if (ticks[ticks.length - 1] < max) ticks.push(ticks[ticks.length - 1] + step);
  return ticks;
}

const instantFormats = new Map();

/** An instant (RFC 3339 text or a Date) as 'YYYY-MM-DD HH:MM' in an IANA zone ('' when none). */
export function localTime(instant, zone) {
  if (!instant) return '';
  const date = instant instanceof Date ? instant : new Date(instant);
  if (Number.isNaN(date.getTime())) return String(instant);
  const key = zone || 'UTC';
  if (!instantFormats.has(key)) {
    instantFormats.set(key, new Intl.DateTimeFormat('en-CA', {
      timeZone: key, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23',
    }));
  }
  const parts = Object.fromEntries(instantFormats.get(key).formatToParts(date).map((p) => [p.type, p.value]));
  return `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute}`;
}

/** The zone the view's instants are shown in (the chosen one, else the server's reporting zone). */
export function zoneOf(ctx) {
  return (ctx.state && ctx.state.tz) || ctx.zone || 'UTC';
}

/** How far an instant is from `now`: 'overdue 3 h 10 min', 'due in 25 min', 'due now'. */
export function dueText(instant, now) {
  const seconds = (new Date(instant) - new Date(now)) / 1000;
  if (!Number.isFinite(seconds)) return '';
  if (Math.abs(seconds) < 30) return 'due now';
  const minutes = duration(Math.round(Math.abs(seconds) / 60) * 60 || Math.abs(seconds));
  return seconds < 0 ? `overdue ${minutes}` : `due in ${minutes}`;
}

/** A p-value as read: `p = 0.043`, or `p < 0.001` where three decimals would show zero. */
export function pText(p) {
  return p < 0.001 ? 'p < 0.001' : `p = ${p.toFixed(3)}`;
}

/** A value in its unit: '72.8 %', '53 min 18 s', '+41.0', '1,745'. */
export function formatValue(unit, value) {
  if (value === null || value === undefined || Number.isNaN(value)) return '–';
  switch (unit) {
    case 'percent': return `${number(1).format(value)} %`;
    case 'seconds': return duration(value);
    case 'nps': return `${value > 0 ? '+' : ''}${number(1).format(value)}`;
    case 'score': return number(2).format(value);
    case 'currency': return number(2).format(value);
    default: return Number.isInteger(value) ? whole.format(value) : number(2).format(value);
  }
}

/** A change between periods: percentage points for rates, else the unit's own difference and %. */
export function formatChange(unit, compare) {
  if (!compare || compare.change === null || compare.change === undefined) return '';
  const sign = compare.change > 0 ? '+' : compare.change < 0 ? '−' : '±';
  const magnitude = Math.abs(compare.change);
  if (unit === 'percent') return `${sign}${number(1).format(magnitude)} pts`;
  const text = unit === 'seconds' ? duration(magnitude) : formatValue(unit === 'nps' ? 'score' : unit, magnitude);
  const pct = compare.change_pct === null || compare.change_pct === undefined
    ? '' : ` (${sign}${number(1).format(Math.abs(compare.change_pct))} %)`;
  return `${sign}${text}${pct}`;
}

/**
 * Fits the filter bar to one metric: for each filter name with values, every dimension of the
 * metric named `entity:NAME`. Returns { filters: [...request filters], unused: [names] }.
 */
export function filtersFor(metric, chosen) {
  const filters = [];
  const unused = [];
  for (const [name, values] of Object.entries(chosen)) {
    if (!values || !values.length) continue;
    const dims = (metric ? metric.dimensions : []).filter((d) => d.split(':')[1] === name);
    if (!dims.length) unused.push(name);
    for (const dimension of dims) filters.push({ dimension, is: values });
  }
  return { filters, unused };
}

/** Whether a metric gives one value per query (no share-of or forced breakdown dimensions). */
export function isPlain(metric) {
  return Boolean(metric) && !metric.share_of && !(metric.breakdown && metric.breakdown.length);
}

/** Dimensions whose values are vitals' own code words, not the organisation's data. */
const CODE_WORDS = new Set(['sla:target']);

/** A dimension value as a person reads it: code words ('first_reply') as words ('First
 * reply'); the organisation's own values (channels, teams, categories) as written. */
export function valueLabel(dimension, value) {
  if (value === null || value === undefined) return '(none)';
  if (!CODE_WORDS.has(dimension)) return String(value);
  const text = String(value).replace(/_/g, ' ');
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** A dimension's label: 'ticket:channel' → 'Channel', 'survey:agent' → 'Agent (surveys)'. */
export function dimensionLabel(dimension) {
  const [entity, name] = dimension.split(':');
  const text = (name || entity).replace(/_/g, ' ');
  const nice = text.charAt(0).toUpperCase() + text.slice(1);
  if (entity === 'ticket' || entity === 'time') return nice;
  return `${nice} (${entity})`;
}
