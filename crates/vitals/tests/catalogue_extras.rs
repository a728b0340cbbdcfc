//! End to end: the rest of the catalogue on hand-made data — survey response rate, IQS with
//! rubric versions, adherence, consistency across agents, referrals, the engagement score and
//! its components, social insight with the built-in sentiment classifier, peak hours across a
//! DST change, and the three survey attribution modes. Every expected value is worked out by
//! hand in the comments.

mod common;

use common::{cell, close, write_csv, Workspace};

const CONFIG: &str = r#"
[quality.rubrics.v2]
empathy = 1
accuracy = 3
procedure = { weight = 1, tags = ["adherence"] }

[engagement.weights]
loyalty_participation = 3
education_participation = 1

[statistics]
min_agent_sample = 1
"#;

fn setup() -> (Workspace, String) {
    let ws = Workspace::new();
    let d = ws.data();
    write_csv(
        &d,
        "tickets",
        "ticket_id,created_at,channel,agent_id",
        &["t1,2026-02-01T09:00:00Z,email,a1".into()],
    );
    write_csv(
        &d,
        "ticket_events",
        "event_id,ticket_id,at,kind,author_role,author_id,agent_id,status",
        &[
            "e1,t1,2026-02-01T09:10:00Z,message,agent,a2,,".into(),
            "e2,t1,2026-02-01T09:20:00Z,assign,agent,a2,a1,".into(),
            "e3,t1,2026-02-01T09:30:00Z,message,agent,a1,,".into(),
            "e4,t1,2026-02-01T09:40:00Z,status,agent,a1,,solved".into(),
        ],
    );
    write_csv(
        &d,
        "surveys_sent",
        "send_id,survey,sent_at,ticket_id,customer_id",
        &[
            "s1,csat,2026-02-02T10:00:00Z,t1,".into(),
            "s2,csat,2026-02-03T10:00:00Z,t2,".into(),
            "s3,nps,2026-02-04T10:00:00Z,,c1".into(),
            "s4,csat,2026-02-05T10:00:00Z,t3,".into(),
        ],
    );
    write_csv(
        &d,
        "survey_responses",
        "response_id,survey,score,answered_at,ticket_id,customer_id,agent_id",
        &[
            "r1,csat,5,2026-02-02T12:00:00Z,t1,c9,a3".into(),
            "r2,nps,9,2026-02-05T10:00:00Z,,c1,".into(),
            // Answered before s4 was sent: not a response to it.
            "r3,csat,4,2026-02-04T10:00:00Z,t3,c9,a3".into(),
        ],
    );
    write_csv(
        &d,
        "quality_reviews",
        "review_id,ticket_id,agent_id,reviewer_id,reviewed_at,rubric,criterion,score,max_score,weight,tags",
        &[
            // Rubric v1 is not configured: the rows' weights apply.
            "q1,t1,a1,qa,2026-02-10T10:00:00Z,v1,empathy,3,4,1,".into(),
            "q1,t1,a1,qa,2026-02-10T10:00:00Z,v1,accuracy,4,4,2,".into(),
            "q1,t1,a1,qa,2026-02-10T10:00:00Z,v1,procedure,2,4,1,adherence".into(),
            // Rubric v2 is configured: its weights win over the rows' 5s; procedure is
            // tagged adherence there.
            "q2,t1,a2,qa,2026-02-11T10:00:00Z,v2,empathy,2,4,5,".into(),
            "q2,t1,a2,qa,2026-02-11T10:00:00Z,v2,accuracy,4,4,5,".into(),
            "q2,t1,a2,qa,2026-02-11T10:00:00Z,v2,procedure,4,4,5,".into(),
        ],
    );
    write_csv(
        &d,
        "customers",
        "customer_id,acquired_at,churned_at",
        &[
            "c1,2025-01-01T00:00:00Z,".into(),
            "c2,2025-06-01T00:00:00Z,2026-01-15T00:00:00Z".into(),
            "c3,2026-02-10T00:00:00Z,".into(),
            "c4,2024-01-01T00:00:00Z,2025-12-01T00:00:00Z".into(),
        ],
    );
    write_csv(
        &d,
        "engagement",
        "engagement_id,customer_id,at,program",
        &[
            "g1,c1,2026-02-03T00:00:00Z,loyalty".into(),
            "g2,c1,2026-02-04T00:00:00Z,education".into(),
            "g3,c3,2026-02-20T00:00:00Z,loyalty".into(),
            "g4,c2,2026-02-01T00:00:00Z,loyalty".into(),
        ],
    );
    write_csv(
        &d,
        "referrals",
        "referral_id,referrer_customer_id,referred_at,converted_customer_id",
        &[
            "f1,c1,2026-02-10T00:00:00Z,c3".into(),
            "f2,c1,2026-02-11T00:00:00Z,".into(),
            "f3,c2,2026-02-12T00:00:00Z,".into(),
        ],
    );
    write_csv(
        &d,
        "orders",
        "order_id,customer_id,ordered_at,amount,gross_margin",
        &[
            "o1,c1,2026-02-05T00:00:00Z,100,0.5".into(),
            "o2,c1,2026-02-06T00:00:00Z,50,0.3".into(),
            "o3,c3,2026-02-20T00:00:00Z,200,".into(),
        ],
    );
    write_csv(
        &d,
        "costs",
        "cost_id,period_start,period_end,kind,amount",
        &["k1,2026-02-01,2026-03-01,sales_marketing,280".into()],
    );
    write_csv(
        &d,
        "social_mentions",
        "mention_id,platform,at,sentiment,is_question,is_technical,answerable_by_content,competitor,topic,text",
        &[
            "m1,twitter,2026-02-01T10:00:00Z,positive,false,,,,billing,".into(),
            "m2,twitter,2026-02-01T11:00:00Z,,,true,,rivalco,outage,\"This app is broken and slow, worst update\"".into(),
            "m3,facebook,2026-02-02T10:00:00Z,,,,true,,billing,\"Thanks, great help!\"".into(),
            "m4,twitter,2026-02-03T10:00:00Z,,true,,,,,Where do I change my address?".into(),
            "m5,twitter,2026-02-04T10:00:00Z,,,,,,,".into(),
        ],
    );
    write_csv(
        &d,
        "calls",
        "call_id,offered_at,answered_at,ended_at",
        &[
            // 03:30 summer time and 03:30 winter time in Helsinki: the repeated hour.
            "k1,2026-10-25T00:30:00Z,2026-10-25T00:31:00Z,2026-10-25T00:40:00Z".into(),
            "k2,2026-10-25T01:30:00Z,2026-10-25T01:31:00Z,2026-10-25T01:40:00Z".into(),
            // Monday 09:00 winter time.
            "k3,2026-10-26T07:00:00Z,,2026-10-26T07:01:00Z".into(),
        ],
    );
    let config = ws.import_with_config(CONFIG);
    (ws, config)
}

fn february(ws: &Workspace, config: &str, metrics: &[&str], extra: &[&str]) -> serde_json::Value {
    let mut args = vec![
        "--config",
        config,
        "--from",
        "2026-02-01",
        "--to",
        "2026-03-01",
        "--tz",
        "UTC",
    ];
    for m in metrics {
        args.extend_from_slice(&["--metric", m]);
    }
    args.extend_from_slice(extra);
    ws.query(&args)
}

#[test]
fn surveys_quality_and_consistency() {
    let (ws, config) = setup();
    let r = february(&ws, &config, &["survey_response_rate"], &[]);
    // csat: s1 answered, s2 not, s4 answered only before it was sent → 1 of 3; nps 1 of 1.
    let (v, n) = cell(&r, &[("survey:survey", "csat")], "survey_response_rate");
    assert_eq!(n, 3);
    close(v, 100.0 / 3.0);
    close(
        cell(&r, &[("survey:survey", "nps")], "survey_response_rate").0,
        100.0,
    );

    let r = february(&ws, &config, &["iqs", "adherence", "consistency_iqs"], &[]);
    // q1: (0.75·1 + 1·2 + 0.5·1) / 4 = 81.25; q2: (0.5·1 + 1·3 + 1·1) / 5 = 90.
    let (v, n) = cell(&r, &[], "iqs");
    assert_eq!(n, 2);
    close(v, (81.25 + 90.0) / 2.0);
    // Adherence: q1's procedure 2/4 = 50; q2's procedure 4/4 = 100.
    close(cell(&r, &[], "adherence").0, 75.0);
    // Two agents at 81.25 and 90: sample sd 8.75/√2, over the mean 85.625.
    let (v, n) = cell(&r, &[], "consistency_iqs");
    assert_eq!(n, 2);
    close(v, 100.0 * (8.75 / 2f64.sqrt()) / 85.625);
    let r = february(&ws, &config, &["iqs"], &["--by", "review:rubric"]);
    close(cell(&r, &[("review:rubric", "v2")], "iqs").0, 90.0);
}

#[test]
fn customers_referrals_and_engagement() {
    let (ws, config) = setup();
    let r = february(
        &ws,
        &config,
        &[
            "referral_rate",
            "referrals_per_customer",
            "referral_conversion",
            "loyalty_participation",
            "education_participation",
            "engagement_score",
        ],
        &[],
    );
    // Active in February: c1 and c3 (c2 churned in January, c4 in December).
    let (v, n) = cell(&r, &[], "referral_rate");
    assert_eq!(n, 2);
    close(v, 50.0); // c1 referred; c3 did not
    close(cell(&r, &[], "referrals_per_customer").0, 1.0); // (2 + 0) / 2
    let (v, n) = cell(&r, &[], "referral_conversion");
    assert_eq!(n, 3); // every referral of the month, c2's too
    close(v, 100.0 / 3.0);
    close(cell(&r, &[], "loyalty_participation").0, 100.0);
    close(cell(&r, &[], "education_participation").0, 50.0);
    // Weights 3 and 1: (3·100 + 1·50) / 4.
    close(cell(&r, &[], "engagement_score").0, 87.5);
    let row = r["results"][0]["metrics"]["engagement_score"].clone();
    close(row["components"]["loyalty_participation"].as_f64(), 100.0);
    close(row["components"]["education_participation"].as_f64(), 50.0);

    let r = february(
        &ws,
        &config,
        &["clv_historical", "clv_purchase", "clv_simple"],
        &[],
    );
    // Historical: c1 (100 + 50) × mean margin 0.4 = 60; c3's order has no margin.
    let (v, n) = cell(&r, &[], "clv_historical");
    assert_eq!(n, 1);
    close(v, 60.0);
    // Purchase model: mean February spend (150 and 200) × 365.25 / 28 days × 3 years.
    let (v, n) = cell(&r, &[], "clv_purchase");
    assert_eq!(n, 2);
    close(v, 175.0 * 365.25 / 28.0 * 3.0);
    // Simple model: the same minus February's CAC: 280 of sales and marketing spend, all in
    // February, over the one customer acquired in February (c3) = 280.
    close(
        cell(&r, &[], "clv_simple").0,
        175.0 * 365.25 / 28.0 * 3.0 - 280.0,
    );
}

#[test]
fn social_insight_with_the_classifier() {
    let (ws, config) = setup();
    let r = february(&ws, &config, &["social_sentiment"], &[]);
    // m1 positive (source); m2 negative, m3 positive, m4 neutral (classifier); m5 has
    // neither sentiment nor text.
    let (v, n) = cell(&r, &[("mention:sentiment", "positive")], "social_sentiment");
    assert_eq!(n, 4);
    close(v, 50.0);
    close(
        cell(&r, &[("mention:sentiment", "negative")], "social_sentiment").0,
        25.0,
    );
    close(
        cell(&r, &[("mention:sentiment", "neutral")], "social_sentiment").0,
        25.0,
    );
    let r = february(
        &ws,
        &config,
        &["social_mentions"],
        &["--by", "mention:platform"],
    );
    assert_eq!(
        cell(&r, &[("mention:platform", "twitter")], "social_mentions").0,
        Some(4.0)
    );
    assert_eq!(
        cell(&r, &[("mention:platform", "facebook")], "social_mentions").0,
        Some(1.0)
    );
    let r = february(
        &ws,
        &config,
        &[
            "social_question_rate",
            "competitor_mentions",
            "social_topics",
        ],
        &[],
    );
    close(cell(&r, &[], "social_question_rate").0, 50.0);
    assert_eq!(
        cell(
            &r,
            &[("mention:competitor", "rivalco")],
            "competitor_mentions"
        )
        .0,
        Some(1.0)
    );
    let billing = r["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|row| row["dimensions"]["mention:topic"] == "billing")
        .unwrap();
    assert_eq!(billing["metrics"]["social_topics"]["rank"], 1);
    close(
        billing["metrics"]["social_topics"]["value"].as_f64(),
        200.0 / 3.0,
    );
}

#[test]
fn peak_hours_in_local_time_across_dst() {
    let (ws, config) = setup();
    let r = ws.query(&[
        "--config",
        &config,
        "--metric",
        "peak_hours",
        "--from",
        "2026-10-25",
        "--to",
        "2026-10-27",
        "--tz",
        "Europe/Helsinki",
    ]);
    let at = |day: &str, hour: &str| {
        cell(
            &r,
            &[("time:weekday", day), ("time:hour", hour)],
            "peak_hours",
        )
        .0
    };
    assert_eq!(at("Sun", "03"), Some(2.0), "both 03:30s of the long night");
    assert_eq!(at("Mon", "09"), Some(1.0));
    assert_eq!(
        at("Mon", "10"),
        Some(0.0),
        "empty hours show 0 for the heat map"
    );
    // Any instant-counted metric takes the same dimensions.
    let r = ws.query(&[
        "--config",
        &config,
        "--metric",
        "ticket_volume",
        "--by",
        "time:hour",
        "--from",
        "2026-02-01",
        "--to",
        "2026-02-02",
        "--tz",
        "UTC",
    ]);
    assert_eq!(
        cell(&r, &[("time:hour", "09")], "ticket_volume").0,
        Some(1.0)
    );
}

#[test]
fn survey_attribution_modes() {
    let (ws, config) = setup();
    // t1: a2 replies, the ticket moves to a1, a1 replies and solves; the response names a3.
    let by_agent = |mode: &str| {
        let path = ws.dir.path().join(format!("{mode}.toml"));
        std::fs::write(
            &path,
            format!("{CONFIG}\n[attribution]\nsurveys = \"{mode}\"\n"),
        )
        .unwrap();
        let p = path.display().to_string();
        let r = february(&ws, &p, &["csat"], &["--by", "survey:agent"]);
        assert_eq!(r["query"]["params"]["survey_attribution"], mode);
        let mut agents: Vec<(String, u64)> = r["results"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|row| row["metrics"]["csat"]["n"].as_u64() > Some(0))
            .map(|row| {
                (
                    row["dimensions"]["survey:agent"]
                        .as_str()
                        .unwrap_or("-")
                        .to_string(),
                    row["metrics"]["csat"]["n"].as_u64().unwrap(),
                )
            })
            .collect();
        agents.sort();
        agents
    };
    // r1 (t1) and r3 (t3, a ticket with no timeline) in February.
    assert_eq!(by_agent("rated_agent"), vec![("a3".to_string(), 2)]);
    assert_eq!(
        by_agent("assignee_at_solve"),
        vec![("-".to_string(), 1), ("a1".to_string(), 1)]
    );
    assert_eq!(
        by_agent("every_replying_agent"),
        vec![
            ("-".to_string(), 1),
            ("a1".to_string(), 1),
            ("a2".to_string(), 1)
        ]
    );
    let _ = config;
}
