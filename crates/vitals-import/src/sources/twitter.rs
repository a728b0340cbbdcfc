//! `--from twitter`: customer-support threads in the TWCS layout (`tweet_id, author_id,
//! inbound, created_at, text, response_tweet_id, in_response_to_tweet_id`).
//!
//! Mapping (README "Importers"):
//! - A thread is a tweet with no parent in the export plus everything that answers it,
//!   directly or not; a thread becomes one ticket whose id is its first tweet's id.
//! - Threads started by a customer (`inbound` True) become tickets: created at the first
//!   tweet, channel `twitter`, customer = its author, team = the brand (the author of the
//!   thread's earliest brand reply; else the first @handle in the first tweet).
//! - Every tweet is a public `message`: inbound tweets by the `customer`, brand tweets by an
//!   `agent` whose id is the brand (the data names no person).
//! - Threads whose first tweet is the brand's (outreach, or the customer tweet is missing
//!   from the export) are skipped: there is no customer contact to measure from.
//! - Tweets carry no status, so tickets are never resolved; reply metrics (first response,
//!   average response time, replies) are what this source measures.
//!
//! The file is read twice: a first pass links every tweet to its parent (about 40 bytes per
//! tweet, never the text), the second maps rows in file order.

use std::collections::HashMap;
use std::path::PathBuf;

use chrono::DateTime;

use super::tabular::{read_rows, scan_rows, Row, CSV};
use super::{Emitter, Instant, Rec};
use crate::ImportError;

const REQUIRED: &[&str] = &[
    "tweet_id",
    "author_id",
    "inbound",
    "created_at",
    "in_response_to_tweet_id",
];

/// Why brand-started threads are left out.
pub(crate) const BRAND_STARTED: &str =
    "thread starts with a brand tweet (outreach, or its customer tweet is not in the export)";

/// What the first pass keeps of a tweet.
struct Node {
    parent: Option<u64>,
    inbound: bool,
    /// Brand tweets: the brand's index and the tweet's instant.
    brand: Option<(u32, i64)>,
}

#[derive(Default)]
struct Threads {
    nodes: HashMap<u64, Node>,
    brands: Vec<String>,
    brand_index: HashMap<String, u32>,
    /// Thread root → its earliest brand reply (brand index, instant).
    root_brand: HashMap<u64, (u32, i64)>,
}

impl Threads {
    fn root(&self, mut id: u64) -> u64 {
        // A parent chain is a tree in any sane export; the bound guards against cycles.
        for _ in 0..10_000 {
            match self.nodes.get(&id).and_then(|n| n.parent) {
                Some(p) if self.nodes.contains_key(&p) => id = p,
                _ => break,
            }
        }
        id
    }
}

pub(crate) fn import(files: &[PathBuf], out: &mut Emitter<'_, '_>) -> Result<(), ImportError> {
    let mut threads = Threads::default();
    for path in files {
        scan_rows(path, &CSV, out.limits(), |row| {
            let (Some(id), Ok(at)) = (row.get("tweet_id").and_then(id), instant(row)) else {
                return;
            };
            let inbound = row.get("inbound").is_some_and(is_true);
            let brand = match (inbound, row.get("author_id")) {
                (false, Some(author)) => {
                    let next = threads.brands.len() as u32;
                    let i = *threads
                        .brand_index
                        .entry(author.to_string())
                        .or_insert(next);
                    if i == next {
                        threads.brands.push(author.to_string());
                    }
                    Some((i, at))
                }
                _ => None,
            };
            let parent = row.get("in_response_to_tweet_id").and_then(self::id);
            threads.nodes.insert(
                id,
                Node {
                    parent,
                    inbound,
                    brand,
                },
            );
        })?;
    }
    let mut root_brand = HashMap::new();
    for (id, node) in &threads.nodes {
        if let Some((brand, at)) = node.brand {
            let entry = root_brand.entry(threads.root(*id)).or_insert((brand, at));
            if at < entry.1 {
                *entry = (brand, at);
            }
        }
    }
    threads.root_brand = root_brand;

    for path in files {
        read_rows(path, &CSV, REQUIRED, out, |row, out| {
            map_tweet(row, &threads, out)
        })?;
    }
    Ok(())
}

fn map_tweet(
    row: &Row<'_>,
    threads: &Threads,
    out: &mut Emitter<'_, '_>,
) -> Result<(), ImportError> {
    let raw = || row.raw();
    let Some(tweet) = row.get("tweet_id").and_then(id) else {
        let reason = "`tweet_id` is not a numeric tweet id".into();
        return out.reject(row.line, Some("tweet_id"), reason, raw());
    };
    let at = match instant(row) {
        Ok(at) => at,
        Err(reason) => return out.reject(row.line, Some("created_at"), reason, raw()),
    };
    let Some(inbound) = row.get("inbound").and_then(flag) else {
        let reason = "`inbound` is not True or False".into();
        return out.reject(row.line, Some("inbound"), reason, raw());
    };
    let root = threads.root(tweet);
    if !threads.nodes.get(&root).is_some_and(|n| n.inbound) {
        out.skip(BRAND_STARTED);
        return Ok(());
    }
    let author = row.get("author_id");
    if root == tweet {
        let brand = threads
            .root_brand
            .get(&root)
            .map(|(b, _)| threads.brands[*b as usize].clone())
            .or_else(|| first_handle(row.get("text").unwrap_or_default()));
        let ticket = Rec::new("tickets")
            .set("ticket_id", tweet.to_string())
            .set("created_at", Instant(at))
            .set("channel", "twitter")
            .set("customer_id", author)
            .set("team", brand);
        out.emit(ticket, row.line, &raw)?;
    }
    let message = Rec::new("ticket_events")
        .set("event_id", tweet.to_string())
        .set("ticket_id", root.to_string())
        .set("at", Instant(at))
        .set("kind", "message")
        .set("author_role", if inbound { "customer" } else { "agent" })
        .set("author_id", author)
        .set("public", true);
    out.emit(message, row.line, &raw)
}

fn id(text: &str) -> Option<u64> {
    text.trim().parse().ok()
}

fn flag(text: &str) -> Option<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    }
}

fn is_true(text: &str) -> bool {
    flag(text) == Some(true)
}

/// `Wed Oct 11 06:55:44 +0000 2017` as UTC microseconds.
fn instant(row: &Row<'_>) -> Result<i64, String> {
    let text = row.get("created_at").unwrap_or_default();
    DateTime::parse_from_str(text, "%a %b %d %H:%M:%S %z %Y")
        .map(|t| t.timestamp_micros())
        .map_err(|_| format!("`{text}` is not a Twitter time (Wed Oct 11 06:55:44 +0000 2017)"))
}

/// The first @handle of a tweet (the brand a customer addresses), if any.
fn first_handle(text: &str) -> Option<String> {
    let start = text.find('@')? + 1;
    let handle: String = text[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    (!handle.is_empty()).then_some(handle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_brand_falls_back_to_the_first_handle() {
        assert_eq!(
            first_handle("@AppleSupport why?"),
            Some("AppleSupport".into())
        );
        assert_eq!(first_handle("no handle"), None);
    }
}
