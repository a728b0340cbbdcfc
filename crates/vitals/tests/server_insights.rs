//! End-to-end tests of the server's spikes, annotations, staffing and report endpoints: the
//! same library functions as `vitals spikes`, `vitals annotate`, `vitals staffing` and
//! `vitals report`, so the API's JSON equals the CLI's on the same store; an annotation added
//! over the API appears beside its spike at once; the report downloads as a workbook and a page.

mod common;
#[path = "common/server.rs"]
mod server;

use common::{generated, ok, Workspace};
use serde_json::{json, Value};
use server::{call, get, post, Options, Server};

/// A generated organisation imported with its configuration: (workspace, config path).
fn organisation() -> (Workspace, String) {
    let ws = Workspace::new();
    let config = generated(&ws, 3000, 3, "2026-01-01", 11);
    (ws, config)
}

#[test]
fn spikes_annotations_staffing_and_report_match_the_cli() {
    let (ws, config) = organisation();
    let db = std::path::PathBuf::from(ws.db());
    let server = Server::start_with(
        &db,
        Options {
            args: vec!["--config", &config],
            ..Options::default()
        },
    );
    let admin = server.admin();
    let (reader, _) = server.token(&admin, &["read"]);
    let (writer, _) = server.token(&admin, &["ingest"]);

    let spikes_url = server.url("/api/v1/spikes?by=ticket:category");
    let spikes = get(&spikes_url, Some(&reader)).expect(200).json();
    let first = spikes["spikes"]
        .as_array()
        .and_then(|s| s.first())
        .cloned()
        .expect("the generated data has spikes");
    let date = first["date"].as_str().unwrap().to_string();

    // Annotations: a read token cannot add one; an ingest token can, and it shows at once.
    let note = json!({"date": date, "text": "Product launch", "category": "launch"}).to_string();
    post(&server.url("/api/v1/annotations"), Some(&reader), &note).expect(403);
    let added = post(&server.url("/api/v1/annotations"), Some(&writer), &note)
        .expect(201)
        .json();
    let id = added["id"].as_i64().unwrap();
    let listed = get(&server.url("/api/v1/annotations"), Some(&reader))
        .expect(200)
        .json();
    assert_eq!(listed.as_array().unwrap().len(), 1);
    let again = get(&spikes_url, Some(&reader)).expect(200).json();
    let beside: Vec<&Value> = again["spikes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["date"] == first["date"])
        .flat_map(|s| s["annotations"].as_array().unwrap())
        .collect();
    assert!(
        beside.iter().any(|a| a["text"] == "Product launch"),
        "{again}"
    );

    let staffing = get(&server.url("/api/v1/staffing?month=2026-02"), Some(&reader))
        .expect(200)
        .json();
    assert!(
        !staffing["cells"].as_array().unwrap().is_empty(),
        "{staffing}"
    );

    // The report downloads in both formats, named for its month.
    let xlsx = ureq::get(&server.url("/api/v1/report?month=2026-02&format=xlsx"))
        .set("Authorization", &format!("Bearer {reader}"))
        .call()
        .expect("the workbook");
    assert!(xlsx
        .header("content-disposition")
        .unwrap()
        .contains("vitals-report-2026-02.xlsx"));
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut xlsx.into_reader(), &mut bytes).unwrap();
    assert!(bytes.starts_with(b"PK"), "not a zip (xlsx) body");
    let html = get(
        &server.url("/api/v1/report?month=2026-02&format=html"),
        Some(&reader),
    )
    .expect(200);
    assert!(html
        .header("content-type")
        .unwrap()
        .starts_with("text/html"));
    assert!(html.body.contains("2026-02"));
    // The weekly report: `week` instead of `month`, named for its week; one of them only.
    let weekly = get(
        &server.url("/api/v1/report?week=2026-W07&format=html"),
        Some(&reader),
    )
    .expect(200);
    assert!(weekly
        .header("content-disposition")
        .unwrap()
        .contains("vitals-report-2026-W07.html"));
    assert!(weekly.body.contains("data-month=\"2026-W07\""));
    for wrong in [
        "month=2026-02&week=2026-W07",
        "month=2026-W07",
        "format=html",
    ] {
        let answer = get(
            &server.url(&format!("/api/v1/report?{wrong}")),
            Some(&reader),
        );
        assert_eq!(answer.status, 422, "{wrong}: {}", answer.body);
        assert_eq!(answer.error_code(), "invalid_period", "{wrong}");
    }
    let missing = get(&server.url("/api/v1/report?month=2024-01"), Some(&reader)).expect(404);
    assert_eq!(missing.error_code(), "no_data");
    assert!(missing.json()["error"]["message"]
        .as_str()
        .unwrap()
        .contains("2026-02"));

    let bad = get(&server.url("/api/v1/spikes?from=yesterday"), Some(&reader)).expect(400);
    assert_eq!(bad.error_code(), "invalid_request");

    // Deleting: once, then it is gone.
    let one = server.url(&format!("/api/v1/annotations/{id}"));
    call("DELETE", &one, Some(&writer), None, &[]).expect(204);
    call("DELETE", &one, Some(&writer), None, &[]).expect(404);
    // Put it back for the CLI comparison below.
    post(&server.url("/api/v1/annotations"), Some(&writer), &note).expect(201);
    let api_spikes = get(&spikes_url, Some(&reader)).expect(200).json();

    // `vitals report --server` downloads both files while the server holds the store.
    let out = ws.dir.path().join("reports");
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_vitals"))
        .args([
            "report",
            "--month",
            "2026-02",
            "--server",
            &server.base,
            "--out",
        ])
        .arg(&out)
        .env("VITALS_TOKEN", &reader)
        .env_remove("VITALS_DB")
        .status()
        .unwrap();
    assert!(status.success());
    for file in ["vitals-report-2026-02.xlsx", "vitals-report-2026-02.html"] {
        assert!(
            std::fs::metadata(out.join(file)).unwrap().len() > 1000,
            "{file}"
        );
    }
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_vitals"))
        .args(["report", "--week", "2026-W07", "--format", "html"])
        .args(["--server", &server.base, "--out"])
        .arg(&out)
        .env("VITALS_TOKEN", &reader)
        .env_remove("VITALS_DB")
        .status()
        .unwrap();
    assert!(status.success(), "the weekly report through the server");
    let weekly = std::fs::read_to_string(out.join("vitals-report-2026-W07.html")).unwrap();
    assert!(weekly.contains("data-month=\"2026-W07\""));
    // The other reading and annotating commands work against the server too.
    let (both, _) = server.token(&admin, &["read", "ingest"]);
    let cli = |args: &[&str]| -> String {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_vitals"))
            .args(args)
            .args(["--server", &server.base])
            .env("VITALS_TOKEN", &both)
            .env_remove("VITALS_DB")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let remote_spikes: Value =
        serde_json::from_str(&cli(&["spikes", "--by", "ticket:category", "--json"])).unwrap();
    assert_eq!(remote_spikes, api_spikes);
    let remote_staffing: Value =
        serde_json::from_str(&cli(&["staffing", "--month", "2026-02", "--json"])).unwrap();
    assert_eq!(remote_staffing, staffing);
    cli(&["annotate", "2026-02-02", "Outage", "--category", "outage"]);
    let listed: Value = serde_json::from_str(&cli(&["annotations", "--json"])).unwrap();
    let outage = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["text"] == "Outage")
        .expect("the annotation sent with --server")["id"]
        .as_i64()
        .unwrap()
        .to_string();
    cli(&["annotations", "--delete", &outage]);
    let remote_sla: Value = serde_json::from_str(&cli(&[
        "sla",
        "--breached",
        "--now",
        "2026-03-31T12:00:00Z",
        "--json",
    ]))
    .unwrap();
    server.stop();

    // The CLI over the same store answers the same JSON.
    let db = ws.db();
    let cli_spikes: Value = serde_json::from_str(&ok(&[
        "spikes",
        "--db",
        &db,
        "--config",
        &config,
        "--by",
        "ticket:category",
        "--json",
    ]))
    .unwrap();
    assert_eq!(api_spikes, cli_spikes);
    let cli_staffing: Value = serde_json::from_str(&ok(&[
        "staffing", "--db", &db, "--config", &config, "--month", "2026-02", "--json",
    ]))
    .unwrap();
    assert_eq!(staffing, cli_staffing);
    let cli_sla: Value = serde_json::from_str(&ok(&[
        "sla",
        "--db",
        &db,
        "--config",
        &config,
        "--breached",
        "--now",
        "2026-03-31T12:00:00Z",
        "--json",
    ]))
    .unwrap();
    assert_eq!(remote_sla, cli_sla);
}

#[test]
fn vitals_demo_then_vitals_serve_serves_the_demo_with_its_configuration() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().unwrap();
    let bin = env!("CARGO_BIN_EXE_vitals");
    let demo = std::process::Command::new(bin)
        .args(["demo", "--tickets", "1500"])
        .current_dir(dir.path())
        .env_remove("VITALS_DB")
        .env_remove("VITALS_CONFIG")
        .output()
        .unwrap();
    assert!(demo.status.success());
    let mut child = std::process::Command::new(bin)
        .args(["serve", "--addr", "127.0.0.1:0"])
        .current_dir(dir.path())
        .env_remove("VITALS_DB")
        .env_remove("VITALS_CONFIG")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut said = String::new();
    let mut base = None;
    for line in std::io::BufReader::new(child.stderr.take().unwrap()).lines() {
        let line = line.unwrap();
        said.push_str(&line);
        said.push('\n');
        if let Some(rest) = line.strip_prefix("vitals serve: ") {
            base = rest.split_whitespace().next().map(str::to_string);
            break;
        }
    }
    let token = said
        .split_whitespace()
        .find(|w| w.starts_with("vt_"))
        .unwrap_or_else(|| panic!("no token:\n{said}"))
        .to_string();
    assert!(
        said.contains("serving the demo store vitals-demo.duckdb"),
        "{said}"
    );
    assert!(said.contains("vitals-demo.toml"), "{said}");
    // The demo's configuration is in force: business-time values and targets come back.
    let base = base.expect("listening");
    let request = json!({"metrics": ["first_response_time:business_median", "csat"]});
    let answer = post(
        &format!("{base}/api/v1/query"),
        Some(&token),
        &request.to_string(),
    )
    .expect(200)
    .json();
    let row = &answer["results"][0]["metrics"];
    assert!(
        row["first_response_time:business_median"]["value"].is_number(),
        "{answer}"
    );
    assert!(row["csat"]["target"].is_number(), "{answer}");
    let _ = child.kill();
    let _ = child.wait();
}
