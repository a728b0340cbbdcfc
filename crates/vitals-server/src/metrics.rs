//! `/metrics` in the Prometheus text format: requests and their latencies by route and
//! status, the ingest queue, records ingested and rejected by code, commits and the result
//! cache. A handful of counters behind one mutex; the text format is small enough to write
//! here rather than pull in a metrics framework.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::Ordering;
use std::sync::Mutex;
use std::time::Duration;

use crate::state::AppState;

/// Upper bounds (seconds) of the latency histogram's buckets.
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    sum: f64,
    count: u64,
}

#[derive(Default)]
struct Counters {
    requests: BTreeMap<(String, u16), u64>,
    latency: BTreeMap<String, Histogram>,
    rejected: BTreeMap<String, u64>,
    accepted: u64,
    interrupted: BTreeMap<&'static str, u64>,
}

/// The server's counters.
#[derive(Default)]
pub struct Metrics {
    counters: Mutex<Counters>,
}

impl Metrics {
    /// Counts a finished request of `route` (the matched path pattern).
    pub fn request(&self, route: &str, status: u16, elapsed: Duration) {
        let Ok(mut c) = self.counters.lock() else {
            return;
        };
        *c.requests.entry((route.to_string(), status)).or_default() += 1;
        let h = c.latency.entry(route.to_string()).or_default();
        let secs = elapsed.as_secs_f64();
        for (i, bound) in BUCKETS.iter().enumerate() {
            if secs <= *bound {
                h.counts[i] += 1;
            }
        }
        h.sum += secs;
        h.count += 1;
    }

    /// Counts a query stopped before it answered: `timeout` (over the time budget) or
    /// `client_gone` (its client disconnected).
    pub fn interrupted(&self, reason: &'static str) {
        if let Ok(mut c) = self.counters.lock() {
            *c.interrupted.entry(reason).or_default() += 1;
        }
    }

    /// Counts an ingest request's outcome.
    pub fn ingested(
        &self,
        accepted: usize,
        rejected_codes: impl IntoIterator<Item = &'static str>,
    ) {
        let Ok(mut c) = self.counters.lock() else {
            return;
        };
        c.accepted += accepted as u64;
        for code in rejected_codes {
            *c.rejected.entry(code.to_string()).or_default() += 1;
        }
    }
}

/// The exposition text.
pub fn render(state: &AppState) -> String {
    let mut out = String::new();
    let stats = &state.writer.stats;
    if let Ok(c) = state.metrics.counters.lock() {
        out.push_str("# HELP vitals_http_requests_total HTTP requests by route and status.\n# TYPE vitals_http_requests_total counter\n");
        for ((route, status), n) in &c.requests {
            let _ = writeln!(
                out,
                "vitals_http_requests_total{{route=\"{route}\",status=\"{status}\"}} {n}"
            );
        }
        out.push_str("# HELP vitals_http_request_duration_seconds Request latency by route.\n# TYPE vitals_http_request_duration_seconds histogram\n");
        for (route, h) in &c.latency {
            for (bound, n) in BUCKETS.iter().zip(h.counts) {
                let _ = writeln!(out, "vitals_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{bound}\"}} {n}");
            }
            let _ = writeln!(
                out,
                "vitals_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {}",
                h.count
            );
            let _ = writeln!(
                out,
                "vitals_http_request_duration_seconds_sum{{route=\"{route}\"}} {}",
                h.sum
            );
            let _ = writeln!(
                out,
                "vitals_http_request_duration_seconds_count{{route=\"{route}\"}} {}",
                h.count
            );
        }
        out.push_str("# HELP vitals_records_accepted_total Records accepted by the ingest API.\n# TYPE vitals_records_accepted_total counter\n");
        let _ = writeln!(out, "vitals_records_accepted_total {}", c.accepted);
        out.push_str("# HELP vitals_records_rejected_total Records rejected by the ingest API, by code.\n# TYPE vitals_records_rejected_total counter\n");
        for (code, n) in &c.rejected {
            let _ = writeln!(out, "vitals_records_rejected_total{{code=\"{code}\"}} {n}");
        }
        out.push_str("# HELP vitals_queries_interrupted_total Queries stopped before they answered, by reason (timeout, client_gone).\n# TYPE vitals_queries_interrupted_total counter\n");
        for reason in ["timeout", "client_gone"] {
            let n = c.interrupted.get(reason).copied().unwrap_or(0);
            let _ = writeln!(
                out,
                "vitals_queries_interrupted_total{{reason=\"{reason}\"}} {n}"
            );
        }
    }
    let gauge = |out: &mut String, name: &str, help: &str, kind: &str, value: String| {
        let _ = writeln!(
            out,
            "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
        );
    };
    gauge(
        &mut out,
        "vitals_ingest_queue_depth",
        "Write jobs waiting for the writer.",
        "gauge",
        stats.queue_depth.load(Ordering::Relaxed).to_string(),
    );
    gauge(
        &mut out,
        "vitals_records_committed_total",
        "Records committed by group commits.",
        "counter",
        stats.records_committed.load(Ordering::Relaxed).to_string(),
    );
    gauge(
        &mut out,
        "vitals_commits_total",
        "Group commits.",
        "counter",
        stats.commits.load(Ordering::Relaxed).to_string(),
    );
    gauge(
        &mut out,
        "vitals_data_version",
        "Moved by every commit (on a cluster, any server's); cached results of older versions are dropped.",
        "gauge",
        stats.data_version().to_string(),
    );
    if let Ok(cache) = state.cache.lock() {
        gauge(
            &mut out,
            "vitals_query_cache_hits_total",
            "Queries answered from the result cache.",
            "counter",
            cache.hits.to_string(),
        );
        gauge(
            &mut out,
            "vitals_query_cache_misses_total",
            "Queries that ran.",
            "counter",
            cache.misses.to_string(),
        );
        gauge(
            &mut out,
            "vitals_query_cache_warmed_total",
            "Recently asked queries computed again ahead of their next asking, after a commit or a start.",
            "counter",
            cache.warmed.to_string(),
        );
    }
    out
}
