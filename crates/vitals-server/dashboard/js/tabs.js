// tabs.js — what each tab shows. Only the choice of metric ids and dimensions lives here;
// labels, units, groups and headline stats come from the catalogue. Cards default to the
// catalogue's headline metrics of the tab's groups; charts name their metric and kind
// ('band': median with a p90 band, 'ci': value with its 95 % confidence band, 'lines': one
// line per value of a dimension); tables name the dimensions they break down by.

export const TABS = [
  {
    id: 'overview', label: 'Overview', groups: ['volume', 'speed', 'resolution', 'satisfaction', 'quality', 'calls', 'customers'],
    charts: [
      { kind: 'lines', metric: 'ticket_volume', by: 'ticket:channel', marks: true },
      { kind: 'band', metric: 'first_response_time' },
      { kind: 'ci', metric: 'csat' },
    ],
    heat: 'ticket_volume',
    tables: ['ticket:channel', 'ticket:team'],
    compositions: false,
  },
  {
    id: 'volume', label: 'Volume', groups: ['volume'],
    charts: [
      { kind: 'lines', metric: 'ticket_volume', by: 'ticket:channel', marks: true },
      { kind: 'lines', metric: 'ticket_volume', by: 'ticket:category', marks: true },
    ],
    heat: 'ticket_volume',
    tables: ['ticket:channel', 'ticket:category', 'ticket:priority', 'ticket:team'],
  },
  {
    id: 'responsiveness', label: 'Responsiveness', groups: ['speed'],
    charts: [
      { kind: 'band', metric: 'first_response_time' },
      { kind: 'band', metric: 'average_response_time' },
    ],
    heat: 'first_response_time:median',
    tables: ['ticket:channel', 'ticket:category', 'ticket:team', 'ticket:agent'],
  },
  {
    id: 'resolution', label: 'Resolution', groups: ['resolution'],
    charts: [
      { kind: 'band', metric: 'resolution_time' },
      { kind: 'ci', metric: 'fcr' },
    ],
    tables: ['ticket:channel', 'ticket:category', 'ticket:team', 'ticket:agent'],
  },
  {
    id: 'satisfaction', label: 'Satisfaction', groups: ['satisfaction', 'quality'],
    charts: [
      { kind: 'ci', metric: 'csat' },
      { kind: 'ci', metric: 'nps' },
    ],
    tables: ['ticket:channel', 'ticket:category', 'survey:agent', 'survey:survey'],
  },
  {
    id: 'sla', label: 'SLA', groups: ['sla'],
    charts: [{ kind: 'lines', metric: 'sla_compliance', by: 'sla:target' }],
    tables: ['ticket:priority', 'ticket:team'],
    slaLists: true,
  },
  {
    id: 'calls', label: 'Calls', groups: ['calls'],
    charts: [
      { kind: 'ci', metric: 'service_level' },
      { kind: 'band', metric: 'average_wait_time' },
    ],
    heat: 'peak_hours',
    tables: ['call:queue', 'call:agent'],
  },
  {
    id: 'agents', label: 'Agents & teams',
    cards: ['ticket_volume', 'first_response_time:median', 'fcr', 'csat', 'iqs', 'average_handle_time_calls'],
    charts: [{ kind: 'lines', metric: 'ticket_volume', by: 'ticket:team' }],
    tables: ['ticket:team', 'ticket:agent', 'survey:agent', 'review:agent', 'call:agent'],
  },
  {
    id: 'customers', label: 'Customers', groups: ['customers'],
    charts: [
      { kind: 'ci', metric: 'retention_rate' },
      { kind: 'ci', metric: 'churn_rate' },
    ],
    tables: ['customer:tier', 'customer:acquisition_channel', 'customer:persona'],
  },
  {
    id: 'social', label: 'Social', groups: ['social'],
    charts: [
      { kind: 'lines', metric: 'social_mentions', by: 'mention:platform' },
      { kind: 'ci', metric: 'social_question_rate' },
    ],
    tables: ['mention:platform', 'mention:topic', 'mention:sentiment'],
  },
];

const TIME = (d) => d.startsWith('time:');

/** Whether a metric can be a card: one value, or one per non-time breakdown value. */
function cardable(metric) {
  return !metric.share_of && !(metric.breakdown || []).some(TIME);
}

/** The metric keys of a tab's cards: the catalogue's headline metrics of its groups (topped up when few). */
export function cardKeys(tab, catalogue, business) {
  const keyed = (metric, stats) => (stats.length ? stats : ['']).map((s) => {
    if (!s) return metric.id;
    const b = business && metric.business_value ? 'business_' + s : s;
    return `${metric.id}:${b}`;
  });
  if (tab.cards) {
    return tab.cards.filter((k) => catalogue.has(k.split(':')[0])).map((k) => {
      const [id, stat] = k.split(':');
      return keyed(catalogue.get(id), stat ? [stat] : [])[0];
    });
  }
  const inGroups = [...catalogue.values()].filter((m) => tab.groups.includes(m.group) && cardable(m));
  const headline = inGroups.filter((m) => m.headline);
  const chosen = headline.length >= 3 ? headline : headline.concat(inGroups.filter((m) => !m.headline)).slice(0, 6);
  return chosen.flatMap((m) => keyed(m, Array.isArray(m.headline) ? m.headline : []));
}

/** Metrics of a tab's groups shown as their own tables (shares of a dimension, forced breakdowns). */
export function compositionIds(tab, catalogue, cards) {
  if (tab.compositions === false || !tab.groups) return [];
  const onCards = new Set(cards.map((k) => k.split(':')[0]));
  return [...catalogue.values()]
    .filter((m) => tab.groups.includes(m.group) && !onCards.has(m.id))
    .filter((m) => m.share_of || ((m.breakdown || []).length && !(m.breakdown || []).some(TIME)))
    .map((m) => m.id);
}
