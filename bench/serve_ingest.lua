-- wrk script of bench/serve.sh: durable ingest. Each connection alternates a POST of
-- $VITALS_BATCH new tickets (NDJSON) and a POST of their events (a customer message and an
-- agent reply each, so facts are derived); ids are unique per run ($VITALS_RUN), thread and
-- request. Counts the records the server acknowledged (`accepted` of 200 answers) and prints
-- one RESULT line with records/s.
local batch = tonumber(os.getenv("VITALS_BATCH") or "500")
local run = os.getenv("VITALS_RUN") or "r"
local token = os.getenv("VITALS_TOKEN")
local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("tid", #threads)
end

local n = 0
accepted = 0
refused = 0
local headers = {
  ["Content-Type"] = "application/x-ndjson",
  ["Authorization"] = "Bearer " .. token,
}

function request()
  n = n + 1
  local k = math.floor((n + 1) / 2)
  local prefix = string.format("%s-%d-%d-", run, tid, k)
  local parts = {}
  if n % 2 == 1 then
    for i = 1, batch do
      parts[i] = string.format(
        '{"ticket_id":"%s%d","created_at":"2026-05-%02dT09:00:00Z","channel":"email","team":"tier1"}',
        prefix, i, 1 + i % 28)
    end
    return wrk.format("POST", "/api/v1/records/tickets", headers, table.concat(parts, "\n"))
  end
  for i = 1, batch do
    local day = 1 + i % 28
    parts[2 * i - 1] = string.format(
      '{"event_id":"%s%d-a","ticket_id":"%s%d","at":"2026-05-%02dT09:00:00Z","kind":"message","author_role":"customer"}',
      prefix, i, prefix, i, day)
    parts[2 * i] = string.format(
      '{"event_id":"%s%d-b","ticket_id":"%s%d","at":"2026-05-%02dT09:%02d:00Z","kind":"message","author_role":"agent"}',
      prefix, i, prefix, i, day, 1 + i % 59)
  end
  return wrk.format("POST", "/api/v1/records/ticket_events", headers, table.concat(parts, "\n"))
end

function response(status, headers, body)
  if status == 200 then
    accepted = accepted + tonumber(body:match('"accepted":(%d+)') or "0")
  else
    refused = refused + 1
  end
end

function done(summary, latency, requests)
  local total, bad = 0, 0
  for _, t in ipairs(threads) do
    total = total + t:get("accepted")
    bad = bad + t:get("refused")
  end
  local e = summary.errors
  io.write(string.format(
    "RESULT records=%d records_per_s=%.0f requests=%d non200=%d errors=%d p50_ms=%.1f p99_ms=%.1f\n",
    total, total / (summary.duration / 1e6), summary.requests, bad,
    e.connect + e.read + e.write + e.timeout,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
