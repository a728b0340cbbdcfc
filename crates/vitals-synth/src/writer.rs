//! CSV writers, one per entity file, with row counts.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use crate::SynthError;

/// Rows written per entity.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts {
    /// tickets.csv
    pub tickets: u64,
    /// ticket_events.csv
    pub ticket_events: u64,
    /// calls.csv
    pub calls: u64,
    /// survey_responses.csv
    pub survey_responses: u64,
    /// surveys_sent.csv
    pub surveys_sent: u64,
    /// customers.csv
    pub customers: u64,
    /// orders.csv
    pub orders: u64,
    /// costs.csv
    pub costs: u64,
    /// agents.csv
    pub agents: u64,
    /// quality_reviews.csv
    pub quality_reviews: u64,
    /// self_service.csv
    pub self_service: u64,
    /// feedback.csv
    pub feedback: u64,
    /// social_mentions.csv
    pub social_mentions: u64,
    /// referrals.csv
    pub referrals: u64,
    /// engagement.csv
    pub engagement: u64,
}

impl Counts {
    /// All rows.
    pub fn total(&self) -> u64 {
        self.tickets
            + self.ticket_events
            + self.calls
            + self.survey_responses
            + self.surveys_sent
            + self.customers
            + self.orders
            + self.costs
            + self.agents
            + self.quality_reviews
            + self.self_service
            + self.feedback
            + self.social_mentions
            + self.referrals
            + self.engagement
    }
}

pub(crate) struct Sink {
    w: csv::Writer<BufWriter<File>>,
    path: PathBuf,
}

impl Sink {
    fn create(dir: &Path, name: &str, header: &[&str]) -> Result<Sink, SynthError> {
        let path = dir.join(format!("{name}.csv"));
        let file = File::create(&path).map_err(|source| SynthError {
            path: path.display().to_string(),
            source,
        })?;
        let mut sink = Sink {
            w: csv::Writer::from_writer(BufWriter::with_capacity(1 << 20, file)),
            path,
        };
        sink.row(header)?;
        Ok(sink)
    }

    pub(crate) fn row<S: AsRef<[u8]>>(&mut self, fields: &[S]) -> Result<(), SynthError> {
        self.w.write_record(fields).map_err(|e| SynthError {
            path: self.path.display().to_string(),
            source: e.into(),
        })
    }

    fn finish(mut self) -> Result<(), SynthError> {
        self.w.flush().map_err(|source| SynthError {
            path: self.path.display().to_string(),
            source,
        })
    }
}

pub(crate) struct Writers {
    pub tickets: Sink,
    pub events: Sink,
    pub calls: Sink,
    pub responses: Sink,
    pub sent: Sink,
    pub customers: Sink,
    pub orders: Sink,
    pub costs: Sink,
    pub agents: Sink,
    pub quality: Sink,
    pub self_service: Sink,
    pub feedback: Sink,
    pub mentions: Sink,
    pub referrals: Sink,
    pub engagement: Sink,
    pub counts: Counts,
}

impl Writers {
    pub(crate) fn create(dir: &Path) -> Result<Writers, SynthError> {
        Ok(Writers {
            tickets: Sink::create(
                dir,
                "tickets",
                &[
                    "ticket_id",
                    "created_at",
                    "channel",
                    "category",
                    "priority",
                    "customer_id",
                    "tier",
                    "team",
                    "agent_id",
                    "is_complaint",
                    "first_contact_resolved",
                    "handle_secs",
                ],
            )?,
            events: Sink::create(
                dir,
                "ticket_events",
                &[
                    "event_id",
                    "ticket_id",
                    "at",
                    "kind",
                    "author_role",
                    "author_id",
                    "agent_id",
                    "public",
                    "status",
                ],
            )?,
            calls: Sink::create(
                dir,
                "calls",
                &[
                    "call_id",
                    "queue",
                    "offered_at",
                    "answered_at",
                    "ended_at",
                    "abandoned",
                    "agent_id",
                    "talk_secs",
                    "hold_secs",
                    "wrap_secs",
                    "resolved",
                    "customer_id",
                    "ticket_id",
                ],
            )?,
            responses: Sink::create(
                dir,
                "survey_responses",
                &[
                    "response_id",
                    "survey",
                    "score",
                    "answered_at",
                    "ticket_id",
                    "customer_id",
                    "agent_id",
                    "comment",
                ],
            )?,
            sent: Sink::create(
                dir,
                "surveys_sent",
                &["send_id", "survey", "sent_at", "ticket_id", "customer_id"],
            )?,
            customers: Sink::create(
                dir,
                "customers",
                &[
                    "customer_id",
                    "acquired_at",
                    "churned_at",
                    "tier",
                    "persona",
                    "acquisition_channel",
                ],
            )?,
            orders: Sink::create(
                dir,
                "orders",
                &[
                    "order_id",
                    "customer_id",
                    "ordered_at",
                    "amount",
                    "gross_margin",
                    "currency",
                ],
            )?,
            costs: Sink::create(
                dir,
                "costs",
                &[
                    "cost_id",
                    "period_start",
                    "period_end",
                    "kind",
                    "amount",
                    "currency",
                ],
            )?,
            agents: Sink::create(dir, "agents", &["agent_id", "name", "team", "calendar"])?,
            quality: Sink::create(
                dir,
                "quality_reviews",
                &[
                    "review_id",
                    "ticket_id",
                    "agent_id",
                    "reviewer_id",
                    "reviewed_at",
                    "rubric",
                    "criterion",
                    "score",
                    "max_score",
                    "weight",
                    "tags",
                ],
            )?,
            self_service: Sink::create(
                dir,
                "self_service",
                &[
                    "session_id",
                    "at",
                    "kind",
                    "resolved_without_agent",
                    "article_id",
                    "helpful",
                ],
            )?,
            feedback: Sink::create(
                dir,
                "feedback",
                &[
                    "feedback_id",
                    "source",
                    "received_at",
                    "responded_at",
                    "customer_id",
                    "sentiment",
                ],
            )?,
            mentions: Sink::create(
                dir,
                "social_mentions",
                &[
                    "mention_id",
                    "platform",
                    "at",
                    "sentiment",
                    "is_question",
                    "is_technical",
                    "answerable_by_content",
                    "competitor",
                    "topic",
                    "text",
                ],
            )?,
            referrals: Sink::create(
                dir,
                "referrals",
                &[
                    "referral_id",
                    "referrer_customer_id",
                    "referred_at",
                    "converted_customer_id",
                ],
            )?,
            engagement: Sink::create(
                dir,
                "engagement",
                &["engagement_id", "customer_id", "at", "program"],
            )?,
            counts: Counts::default(),
        })
    }

    pub(crate) fn finish(self) -> Result<Counts, SynthError> {
        for s in [
            self.tickets,
            self.events,
            self.calls,
            self.responses,
            self.sent,
            self.customers,
            self.orders,
            self.costs,
            self.agents,
            self.quality,
            self.self_service,
            self.feedback,
            self.mentions,
            self.referrals,
            self.engagement,
        ] {
            s.finish()?;
        }
        Ok(self.counts)
    }
}
