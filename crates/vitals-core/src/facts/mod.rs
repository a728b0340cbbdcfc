//! Derived facts: the ticket timeline fold (calendar time; business time comes with calendars).

pub mod fold;

pub use fold::{
    fold_ticket, EventInput, ReplyWait, ResolvedSpan, StatusSpan, TicketFacts, TicketInput,
};
