//! Derived facts: the ticket timeline fold and the SLA targets measured on it.

pub mod fold;
pub mod sla;

pub use fold::{
    fold_ticket, EventInput, ReplyWait, ResolvedSpan, StatusSpan, TicketFacts, TicketInput,
};
pub use sla::{
    assess_open, policy_for, sla_instances, Clock, OpenAssessment, SlaInstance, SlaState,
};
