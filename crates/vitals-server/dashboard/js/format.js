// format.js — everything the dashboard says about a metric comes from the catalogue
// (/api/v1/catalogue): labels, units, the timestamp a metric counts by, which stats and
// dimensions it allows. This module turns metric keys (`id` or `id:stat`) into labels and
// values into text by the metric's unit, and fits the filter bar's filters to each metric.

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

function duration(seconds) {
  const s = Math.abs(seconds);
  const sign = seconds < 0 ? '−' : '';
  if (s < 60) return `${sign}${whole.format(s)} s`;
  if (s < 3600) return `${sign}${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
  if (s < 86400) return `${sign}${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min`;
  return `${sign}${Math.floor(s / 86400)} d ${Math.round((s % 86400) / 3600)} h`;
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

/** A dimension's label: 'ticket:channel' → 'Channel', 'survey:agent' → 'Agent (surveys)'. */
export function dimensionLabel(dimension) {
  const [entity, name] = dimension.split(':');
  const text = (name || entity).replace(/_/g, ' ');
  const nice = text.charAt(0).toUpperCase() + text.slice(1);
  if (entity === 'ticket' || entity === 'time') return nice;
  return `${nice} (${entity})`;
}
