//! End to end: a configuration key vitals does not know is an error (exit 1) naming the file,
//! the key's full dotted path and the nearest known key — whether the file is given with
//! `--config` or found as `vitals.toml` in the working folder — while the commented default
//! (`vitals config --default`) and the configuration `vitals generate` ships still load.

mod common;

use common::{ok, vitals, vitals_in, Workspace};

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_misspelt_key_is_an_error_with_file_key_and_suggestion() {
    let ws = Workspace::new();
    let path = ws.dir.path().join("typo.toml");
    std::fs::write(&path, "[calls]\nservice_level_sec = 60\n").unwrap();
    let file = path.display().to_string();
    let file = file.as_str();
    for args in [
        vec!["config", "--config", file],
        vec!["import", file, "--config", file],
    ] {
        let out = vitals(&args);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert!(err.contains(file), "names the file: {err}");
        assert!(
            err.contains("unknown key `calls.service_level_sec`"),
            "names the key: {err}"
        );
        assert!(
            err.contains("did you mean `calls.service_level_secs`?"),
            "suggests: {err}"
        );
    }
}

#[test]
fn vitals_toml_in_the_working_folder_is_checked_too() {
    let ws = Workspace::new();
    std::fs::write(
        ws.dir.path().join("vitals.toml"),
        "[calendars.default]\ntimezone = \"UTC\"\nmon = [\"09:00-17:00\"]\n\n[[sla]]\nname = \"all\"\nfirst_replay = \"1h\"\n",
    )
    .unwrap();
    let out = vitals_in(ws.dir.path(), &["config"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("vitals.toml"), "{err}");
    assert!(
        err.contains("`sla[0].first_replay`; did you mean `sla[0].first_reply`?"),
        "{err}"
    );
}

#[test]
fn the_default_and_the_generated_configurations_load() {
    let ws = Workspace::new();
    let default = ws.dir.path().join("default.toml");
    std::fs::write(&default, ok(&["config", "--default"])).unwrap();
    ok(&["config", "--config", &default.display().to_string()]);

    let data = ws.data();
    ok(&[
        "generate",
        "--out",
        &data.display().to_string(),
        "--tickets",
        "50",
        "--months",
        "1",
    ]);
    let shipped = data.join("vitals.toml");
    let shown = ok(&["config", "--config", &shipped.display().to_string()]);
    assert!(shown.contains("Europe/Helsinki"), "{shown}");
}
