-- wrk script of bench/serve.sh: POST /api/v1/query with the request in $VITALS_QUERY and the
-- token in $VITALS_TOKEN; prints one RESULT line (latency percentiles in ms, errors).
wrk.method = "POST"
wrk.body = os.getenv("VITALS_QUERY")
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("VITALS_TOKEN")

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "RESULT p50_ms=%.1f p99_ms=%.1f max_ms=%.1f requests=%d rps=%.1f non200=%d errors=%d\n",
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
    summary.requests, summary.requests / (summary.duration / 1e6), e.status,
    e.connect + e.read + e.write + e.timeout))
end
