//! The operational reads: what the surfaces read from a store besides the query library's
//! statements ([`crate::Engine`]) — the SLA targets still open (for the SLA report), the
//! annotations (spikes mark them), and one ticket's detail (the API's drill-through). Every
//! backend's reader implements it next to `Engine`.

use crate::annotations::Annotation;
use crate::engine::EngineError;
use crate::sla::OpenSlaTarget;

/// Reads beyond planned statements.
pub trait OperationalReads {
    /// Every SLA target no reply or solve has ended yet, oldest first.
    fn open_sla_targets(&self) -> Result<Vec<OpenSlaTarget>, EngineError>;

    /// Every stored annotation, by date then id (none in a store that never had one).
    fn annotations(&self) -> Result<Vec<Annotation>, EngineError>;

    /// The ticket with this id — its record, timeline and facts as JSON — or `None` when there
    /// is no such ticket.
    fn ticket_detail(&self, id: &str) -> Result<Option<serde_json::Value>, EngineError>;
}
