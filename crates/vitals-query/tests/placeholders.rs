//! The placeholders the catalogue check accepts when the catalogue loads
//! (`vitals_core::catalogue::PLACEHOLDERS`) are exactly the ones the planner fills in: none is
//! left in the SQL, under every survey attribution.

use vitals_core::catalogue::PLACEHOLDERS;
use vitals_core::config::{Config, SurveyAttribution};
use vitals_query::plan::fill_placeholders;
use vitals_query::DuckDb;

#[test]
fn every_known_placeholder_is_filled() {
    std::env::set_var("VITALS_NOW", "2026-04-01T00:00:00Z");
    for attribution in [
        SurveyAttribution::RatedAgent,
        SurveyAttribution::AssigneeAtSolve,
        SurveyAttribution::EveryReplyingAgent,
    ] {
        let mut config = Config::default();
        config.attribution.surveys = attribution;
        for name in PLACEHOLDERS {
            let filled = fill_placeholders(&DuckDb, &format!("x = {{{name}}}"), &config);
            assert!(!filled.contains('{'), "`{{{name}}}` is left in `{filled}`");
        }
    }
}
