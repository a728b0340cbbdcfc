//! The digest scheduler of `vitals serve`: for each `[[digests]]`, the period its latest
//! scheduled run (the cron in the reporting zone, at or before now; `VITALS_NOW` sets now)
//! reports on (the last complete month, or ISO week `YYYY-Www`) is sent once. The last sent period of each digest is kept in the store
//! (`vitals_digest_runs`, written by the writer thread after the server accepted the
//! message), so a restart sends a period missed while the server was down and never one
//! already sent. A crash between delivery and that record sends the period again after the
//! restart, with the same `Message-ID` (at least once). A failed delivery is logged and tried
//! again on the next tick.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use vitals_core::config::DigestConfig;
use vitals_mail::{Mail, Mailer};
use vitals_report::digest::compose;

use crate::error::ApiError;
use crate::state::Shared;

/// The longest wait between two looks at the schedules (and before a failed delivery is
/// tried again).
const MOST_WAIT: Duration = Duration::from_secs(60);

/// Runs the scheduler until the server stops.
pub async fn run(state: Shared, mailer: Arc<Mailer>) {
    let mut sent = loop {
        match state
            .read(|_, reader| reader.digest_runs().map_err(ApiError::internal))
            .await
        {
            Ok(runs) => {
                break runs
                    .into_iter()
                    .map(|r| (r.name, r.period))
                    .collect::<BTreeMap<_, _>>()
            }
            Err(e) => {
                eprintln!(
                    "vitals serve: digests: cannot read what was sent: {}; trying again",
                    e.body.message
                );
                tokio::time::sleep(MOST_WAIT).await;
            }
        }
    };
    let mut first = true;
    loop {
        for digest in &state.config.digests {
            tick(&state, &mailer, digest, &mut sent, first).await;
        }
        first = false;
        tokio::time::sleep(wait(&state)).await;
    }
}

/// Sends `digest`'s due period unless it was sent.
async fn tick(
    state: &Shared,
    mailer: &Arc<Mailer>,
    digest: &DigestConfig,
    sent: &mut BTreeMap<String, String>,
    first: bool,
) {
    let name = &digest.name;
    let now = match vitals_core::config::now() {
        Ok(now) => now,
        Err(e) => {
            eprintln!("vitals serve: digest {name}: {e}");
            return;
        }
    };
    let Some(period) = digest.due_period(now, state.config.reporting_zone()) else {
        return;
    };
    if sent
        .get(name)
        .is_some_and(|last| DigestConfig::already_sent(last, &period))
    {
        if first {
            eprintln!("vitals serve: digest {name}: {period} was sent already");
        }
        return;
    }
    match deliver(state, mailer, digest, &period).await {
        Ok(message_id) => {
            // Recorded before it is logged: once the log says "sent", a restart knows it.
            let (n, p, id) = (name.clone(), period.clone(), message_id.clone());
            let recorded = state
                .writer
                .run(move |backend| backend.admin().record_digest_sent(&n, &p, &id))
                .await;
            eprintln!(
                "vitals serve: digest {name}: {period} sent to {} ({message_id}){}",
                digest.recipients.join(", "),
                if matches!(recorded, Ok(Ok(()))) {
                    ""
                } else {
                    "; not recorded in the store: a restart sends it again"
                }
            );
            sent.insert(name.clone(), period);
        }
        Err(e) => eprintln!(
            "vitals serve: digest {name}: {period} not sent: {e}; trying again in {} s",
            MOST_WAIT.as_secs()
        ),
    }
}

/// Builds and sends one period of a digest; the `Message-ID`.
async fn deliver(
    state: &Shared,
    mailer: &Arc<Mailer>,
    digest: &DigestConfig,
    period: &str,
) -> Result<String, String> {
    let (d, p) = (digest.clone(), period.to_string());
    let mail: Mail = state
        .read(move |state, reader| {
            Ok(
                compose(reader, reader, &state.catalogue, &state.config, &d, &p)
                    .map_err(|e| e.to_string()),
            )
        })
        .await
        .map_err(|e| e.body.message)??;
    let m = mailer.clone();
    let sent = tokio::task::spawn_blocking(move || m.send(&mail))
        .await
        .map_err(|e| format!("delivery task failed: {e}"))?
        .map_err(|e| e.to_string())?;
    Ok(sent.message_id)
}

/// Until the next scheduled run by the clock, at most [`MOST_WAIT`], at least a second.
fn wait(state: &Shared) -> Duration {
    let Ok(now) = vitals_core::config::now() else {
        return MOST_WAIT;
    };
    let zone = state.config.reporting_zone();
    state
        .config
        .digests
        .iter()
        .filter_map(|d| d.next_run(now, zone))
        .map(|next| (next.to_utc() - now).to_std().unwrap_or_default())
        .min()
        .unwrap_or(MOST_WAIT)
        .clamp(Duration::from_secs(1), MOST_WAIT)
}
