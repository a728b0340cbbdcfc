//! Tests of loading and checking the configuration file.

use super::*;

#[test]
fn default_file_parses() {
    let c = Config::parse(DEFAULT_CONFIG, "default").unwrap();
    assert_eq!(c.survey("csat").unwrap().max, 5);
}

#[test]
fn surveys_resolve_builtin_and_custom() {
    let c = Config::parse(
        "[surveys.ces]\nscale=[1,5]\norientation='high_is_effort'\n[surveys.pulse]\nscale=[0,3]",
        "t",
    )
    .unwrap();
    let ces = c.survey("ces").unwrap();
    assert_eq!((ces.min, ces.max, ces.high_is_effort), (1, 5, true));
    assert_eq!(c.survey("pulse").unwrap().max, 3);
    assert!(c.survey("unknown").is_none());
    assert!(Config::parse("[reporting]\ntimezone='Mars/Base'", "t").is_err());
}

#[test]
fn calendars_build_and_teams_pick_theirs() {
    let c = Config::parse(
        "[calendars.default]\ntimezone='Europe/Helsinki'\nmon=['09:00-12:00','13:00-17:00']\nholidays=['2026-01-06']\n\
         [[calendars.default.exceptions]]\ndate='2026-04-30'\nhours=['09:00-12:00']\n\
         [[calendars.default.changes]]\nvalid_from='2026-03-02'\nmon=['08:00-16:00']\n\
         [calendars.us]\ntimezone='America/New_York'\nmon=['09:00-17:00']\n[teams.tier2]\ncalendar='us'",
        "t",
    )
    .unwrap();
    let cals = c.derivation_rules().unwrap();
    assert_eq!(cals.for_team(Some("tier2")).unwrap().name, "us");
    assert_eq!(cals.for_team(Some("tier1")).unwrap().name, "default");
    assert_eq!(cals.for_team(None).unwrap().name, "default");
    assert!(Config::parse("[teams.x]\ncalendar='nope'", "t").is_err());
    assert!(Config::parse(
        "[calendars.default]\ntimezone='UTC'\nmon=['17:00-09:00']",
        "t"
    )
    .is_err());
    assert!(Config::default().derivation_rules().unwrap().is_empty());
}
