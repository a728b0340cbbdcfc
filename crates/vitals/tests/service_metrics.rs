//! End to end: handle time, complaint resolution (docs/metrics.md's "filed Monday, resolved
//! Wednesday → 2 days"), cost per resolution / per ticket with a cost line spread over two
//! months, employee satisfaction, feedback response, self-service — all worked out by hand.

mod common;

use common::{cell, close, write_csv, Workspace};

fn setup() -> Workspace {
    let ws = Workspace::new();
    let d = ws.data();
    write_csv(
        &d,
        "tickets",
        "ticket_id,created_at,channel,is_complaint,handle_secs",
        &[
            "c1,2026-01-05T10:00:00Z,email,true,600".into(), // complaint: Monday
            "c2,2026-01-05T09:00:00Z,email,false,1200".into(), // escalated at 12:00
            "c3,2026-01-06T09:00:00Z,email,false,999".into(), // never resolved
            "c4,2026-01-06T10:00:00Z,chat,false,".into(),    // resolved by the bot
        ],
    );
    write_csv(
        &d,
        "ticket_events",
        "event_id,ticket_id,at,kind,author_role,author_id,status",
        &[
            "a1,c1,2026-01-05T10:00:00Z,message,customer,u1,".into(),
            "a2,c1,2026-01-05T11:00:00Z,message,agent,x,".into(),
            "a3,c1,2026-01-07T10:00:00Z,status,agent,x,solved".into(), // Wednesday, same clock time
            "b1,c2,2026-01-05T09:00:00Z,message,customer,u2,".into(),
            "b2,c2,2026-01-05T12:00:00Z,escalate,agent,x,".into(),
            "b3,c2,2026-01-05T13:00:00Z,message,agent,y,".into(),
            "b4,c2,2026-01-05T18:00:00Z,status,agent,y,solved".into(),
            "d1,c3,2026-01-06T09:00:00Z,message,customer,u3,".into(),
            "e1,c4,2026-01-06T10:00:00Z,message,customer,u4,".into(),
            "e2,c4,2026-01-06T10:00:05Z,message,bot,bot,".into(),
            "e3,c4,2026-01-06T10:02:00Z,status,system,,solved".into(),
        ],
    );
    write_csv(
        &d,
        "costs",
        "cost_id,period_start,period_end,kind,amount",
        &[
            "s1,2026-01-01,2026-02-01,support_operations,3000".into(),
            // 31 days at 100 a day: 16 of them (16–31 January) fall in January.
            "s2,2026-01-16,2026-02-16,support_operations,3100".into(),
            "m1,2026-01-01,2026-02-01,sales_marketing,777".into(),
        ],
    );
    write_csv(
        &d,
        "survey_responses",
        "response_id,survey,score,answered_at,agent_id",
        &[
            "r1,esat,5,2026-01-10T10:00:00Z,x".into(),
            "r2,esat,4,2026-01-10T10:00:00Z,y".into(),
            "r3,esat,2,2026-01-10T10:00:00Z,z".into(),
        ],
    );
    write_csv(
        &d,
        "feedback",
        "feedback_id,source,received_at,responded_at",
        &[
            "f1,app,2026-01-10T10:00:00Z,2026-01-10T11:00:00Z".into(),
            "f2,app,2026-01-10T10:00:00Z,2026-01-10T12:00:00Z".into(),
            "f3,web,2026-01-10T10:00:00Z,2026-01-10T14:00:00Z".into(),
            "f4,web,2026-01-10T10:00:00Z,".into(),
        ],
    );
    write_csv(
        &d,
        "self_service",
        "session_id,at,kind,resolved_without_agent,helpful",
        &[
            "h1,2026-01-08T10:00:00Z,help_center,true,true".into(),
            "h2,2026-01-08T11:00:00Z,help_center,false,false".into(),
            "h3,2026-01-08T12:00:00Z,bot,true,".into(),
        ],
    );
    write_csv(
        &d,
        "calls",
        "call_id,offered_at,ended_at,ivr_resolved",
        &["k1,2026-01-08T10:00:00Z,2026-01-08T10:03:00Z,true".into()],
    );
    ws.import();
    ws
}

fn jan(ws: &Workspace, metric: &str) -> (Option<f64>, u64) {
    ws.total(metric, "2026-01-01", "2026-02-01", "UTC")
}

#[test]
fn complaint_resolution_and_handle_time() {
    let ws = setup();
    let (v, n) = jan(&ws, "complaint_resolution_time");
    close(v, (172_800.0 + 6.0 * 3600.0) / 2.0);
    assert_eq!(n, 2);
    let r = ws.query(&[
        "--metric",
        "complaint_resolution_time:p1",
        "--by",
        "ticket:complaint",
        "--from",
        "2026-01-01",
        "--to",
        "2026-02-01",
    ]);
    close(
        cell(
            &r,
            &[("ticket:complaint", "true")],
            "complaint_resolution_time:p1",
        )
        .0,
        172_800.0,
    );
    let (v, n) = jan(&ws, "handle_time");
    close(v, 900.0);
    assert_eq!(n, 2, "c3 is unresolved and c4 tracks no time");
}

#[test]
fn costs_are_spread_by_day_over_buckets() {
    let ws = setup();
    let spend = 3000.0 + 16.0 * 100.0;
    let (v, n) = jan(&ws, "cost_per_resolution");
    close(v, spend / 3.0);
    assert_eq!(n, 3);
    let (v, n) = jan(&ws, "cost_per_ticket");
    close(v, spend / 4.0);
    assert_eq!(n, 4);
    let r = ws.query(&[
        "--metric",
        "cost_per_ticket",
        "--by",
        "time:month",
        "--from",
        "2026-01-01",
        "--to",
        "2026-03-01",
    ]);
    assert!(
        cell(&r, &[("time:month", "2026-02")], "cost_per_ticket")
            .0
            .is_none(),
        "no tickets in February: no value"
    );
}

#[test]
fn employee_satisfaction_feedback_and_self_service() {
    let ws = setup();
    close(jan(&ws, "esat").0, 200.0 / 3.0);
    close(jan(&ws, "esat_mean").0, 11.0 / 3.0);
    let (v, n) = jan(&ws, "feedback_response_rate");
    close(v, 75.0);
    assert_eq!(n, 4);
    let r = ws.query(&[
        "--metric",
        "feedback_reply_time:median",
        "--from",
        "2026-01-01",
        "--to",
        "2026-02-01",
    ]);
    close(cell(&r, &[], "feedback_reply_time:median").0, 7200.0);
    // Self-served: c4 (bot), h1, h3, k1 (IVR) = 4; agent-handled: c1, c2 = 2; c3 is in neither.
    let (v, n) = jan(&ws, "self_service_rate");
    close(v, 400.0 / 6.0);
    assert_eq!(n, 6);
    close(jan(&ws, "help_center_visits").0, 2.0);
    let (v, n) = jan(&ws, "helpful_votes");
    close(v, 50.0);
    assert_eq!(n, 2);
}
