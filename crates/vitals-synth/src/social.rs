//! What customers say outside tickets: feedback items (app reviews, forms, emails), most
//! answered within business hours, and social-media mentions — some with a sentiment from the
//! listening tool, the rest left to vitals' classifier through their text — about recurring
//! topics, sometimes naming a competitor.

use crate::org::{Organisation, HOUR, MIN};
use crate::writer::Writers;
use crate::SynthError;

/// Mention topics: (topic, technical, what customers write when pleased / annoyed / asking).
const TOPICS: [(&str, bool, [&str; 3]); 6] = [
    (
        "delivery",
        false,
        [
            "Parcel arrived early, great service",
            "Still waiting for my delivery, this is ridiculous",
            "How do I change my delivery address?",
        ],
    ),
    (
        "pricing",
        false,
        [
            "Fair prices and a helpful team",
            "Prices went up again, disappointed",
            "Is there a discount for yearly plans?",
        ],
    ),
    (
        "app",
        true,
        [
            "Love the new app, so easy to use",
            "The app crashed again, useless",
            "Does the app work on tablets?",
        ],
    ),
    (
        "outage",
        true,
        [
            "Fixed fast after the outage, thanks",
            "Service down for hours, unacceptable",
            "Is the service down right now?",
        ],
    ),
    (
        "feature request",
        false,
        [
            "Awesome update, exactly what I wanted",
            "Still no dark mode, frustrating",
            "Will you add an export to spreadsheets?",
        ],
    ),
    (
        "support",
        false,
        [
            "Thank you for the quick and helpful answer",
            "Rude agent and no answer to my problem",
            "What are your support opening hours?",
        ],
    ),
];

impl Organisation {
    /// Feedback items and social mentions, spread over the period like contacts.
    pub(crate) fn write_voice_of_customer(&mut self, out: &mut Writers) -> Result<(), SynthError> {
        for _ in 0..self.tickets / 8 {
            self.feedback(out)?;
        }
        for _ in 0..self.tickets / 6 {
            self.mention(out)?;
        }
        Ok(())
    }

    fn feedback(&mut self, out: &mut Writers) -> Result<(), SynthError> {
        let received = self.arrival();
        let source = self.pick(&[
            ("app_review", 3.0),
            ("web_form", 3.0),
            ("email", 2.0),
            ("in_app", 2.0),
        ]);
        let sentiment = self.pick(&[("positive", 4.5), ("neutral", 2.5), ("negative", 3.0)]);
        // Negative feedback is answered more often; answers come in business hours.
        let answered = self.chance(if sentiment == "negative" { 0.9 } else { 0.65 });
        let responded = if answered {
            let at =
                self.next_open(received, "tier1") + (self.lognormal(3.0 * HOUR as f64, 0.8)) as i64;
            self.fmt(at)
        } else {
            String::new()
        };
        let customer = if self.chance(0.8) {
            let i = (self.uniform() * self.customers.len() as f64) as usize;
            self.customers[i].id.clone()
        } else {
            String::new()
        };
        out.counts.feedback += 1;
        out.feedback.row(&[
            format!("b{:07}", out.counts.feedback),
            source.into(),
            self.fmt(received),
            responded,
            customer,
            sentiment.into(),
        ])
    }

    fn mention(&mut self, out: &mut Writers) -> Result<(), SynthError> {
        let at = self.arrival() + (self.uniform() * 30.0 * MIN as f64) as i64;
        let platform = self.pick(&[
            ("twitter", 4.0),
            ("facebook", 2.0),
            ("instagram", 2.0),
            ("reddit", 1.0),
        ]);
        let topic = self.pick(&[(0, 3.0), (1, 1.5), (2, 2.0), (3, 0.7), (4, 1.2), (5, 2.0)]);
        let (name, technical, texts) = TOPICS[topic];
        // 0 pleased, 1 annoyed, 2 asking.
        let mood = self.pick(&[(0, 3.0), (1, 3.5), (2, 2.5)]);
        let sentiment = match mood {
            0 => "positive",
            1 => "negative",
            _ => "neutral",
        };
        // The listening tool labels about half the mentions; vitals classifies the rest.
        let labelled = if self.chance(0.5) { sentiment } else { "" };
        let question = mood == 2;
        let answerable = question && self.chance(0.6);
        let competitor = if self.chance(0.1) {
            self.pick(&[("Acme", 2.0), ("Globex", 1.0), ("Initech", 1.0)])
        } else {
            ""
        };
        let text = if competitor.is_empty() {
            texts[mood].to_string()
        } else {
            format!("{} (compared with {competitor})", texts[mood])
        };
        out.counts.social_mentions += 1;
        out.mentions.row(&[
            format!("m{:07}", out.counts.social_mentions),
            platform.into(),
            self.fmt(at),
            labelled.into(),
            question.to_string(),
            technical.to_string(),
            answerable.to_string(),
            competitor.into(),
            name.into(),
            text,
        ])
    }
}
