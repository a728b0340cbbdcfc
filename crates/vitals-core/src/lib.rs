//! vitals-core: the domain of vitals, free of I/O policy — canonical records and their
//! validation, configuration, the ticket timeline fold, the metric catalogue, query
//! planning and statistics.
#![deny(missing_docs)]

pub mod calc;
pub mod calendar;
pub mod catalogue;
pub mod config;
pub mod facts;
pub mod now;
pub mod records;
pub mod spreadsheet;
pub mod stats;
