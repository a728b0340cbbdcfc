//! Mail over STARTTLS to a server with a certificate of a private CA (aiosmtpd on loopback,
//! the CA and the server's certificate made by `openssl` for the test): with `[smtp] ca_file`
//! naming the CA the message is delivered encrypted; without it the server's certificate is
//! not trusted and sending is a clear error naming the server — nothing falls back to plain
//! text.

mod common;
#[path = "common/smtp.rs"]
mod smtp;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{vitals, write_csv, Workspace};
use smtp::{parse, Sink};

const NOW: &str = "2026-03-02T12:00:00Z";

/// Runs `openssl ARGS` in `dir`; false when it failed or is absent.
fn openssl(dir: &Path, args: &[&str]) -> bool {
    Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .is_ok_and(|o| o.status.success())
}

/// A CA and a server certificate it signed for 127.0.0.1 in `dir`: (ca.pem, cert.pem,
/// key.pem); `None` when openssl is absent.
fn certificates(dir: &Path) -> Option<(PathBuf, PathBuf, PathBuf)> {
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    let steps: [&[&str]; 3] = [
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            "/CN=vitals test CA",
        ],
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "key.pem",
            "-out",
            "server.csr",
            "-subj",
            "/CN=localhost",
        ],
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "cert.pem",
            "-days",
            "2",
            "-extfile",
            "server.ext",
        ],
    ];
    if !steps.iter().all(|args| openssl(dir, args)) {
        common::input_absent("openssl (to make the test's certificates)");
        return None;
    }
    Some((
        dir.join("ca.pem"),
        dir.join("cert.pem"),
        dir.join("key.pem"),
    ))
}

/// A store with ten tickets on 2 March and a rule mailing through `smtp`; the config's path.
fn store(smtp: &str) -> (Workspace, String) {
    let ws = Workspace::new();
    let rows: Vec<String> = (0..10)
        .map(|i| format!("T{i},2026-03-02T09:{i:02}:00Z,email"))
        .collect();
    write_csv(&ws.data(), "tickets", "ticket_id,created_at,channel", &rows);
    let config = ws.import_with_config(&format!(
        "{smtp}\n[[alerts]]\nname = \"busy\"\nmetric = \"ticket_volume\"\ncondition = \"above\"\n\
         threshold = 5\n[[alerts.channels]]\ntype = \"email\"\nto = [\"lead@example.com\"]\n"
    ));
    (ws, config)
}

/// `vitals alerts test busy` (posts the message once, without touching the state).
fn send(ws: &Workspace, config: &str) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_vitals"))
        .args([
            "alerts",
            "test",
            "busy",
            "--db",
            &ws.db(),
            "--config",
            config,
        ])
        .env("VITALS_NOW", NOW)
        .env_remove("VITALS_DB")
        .output()
        .unwrap()
}

#[test]
fn starttls_with_a_private_ca_delivers_encrypted_and_an_untrusted_server_is_refused() {
    let certs = tempfile::tempdir().unwrap();
    let Some((ca, cert, key)) = certificates(certs.path()) else {
        return;
    };
    let Some(sink) = Sink::start_with(None, Some((&cert, &key))) else {
        return;
    };
    let smtp = |ca_file: &str| {
        format!(
            "[smtp]\nhost = \"127.0.0.1\"\nport = {}\ntls = \"starttls\"\n{ca_file}\
             from = \"vitals <vitals@example.com>\"\ntimeout_secs = 20\n",
            sink.port
        )
    };
    // Trusting the CA: delivered, over TLS.
    let (ws, config) = store(&smtp(&format!("ca_file = \"{}\"\n", ca.display())));
    let out = send(&ws, &config);
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let received = sink.wait_for(1);
    assert_eq!(sink.envelope(&received[0])["tls"], true, "sent encrypted");
    assert!(parse(&received[0])["subject"]
        .as_str()
        .unwrap()
        .contains("busy"));

    // Not trusting it: an error naming the server, nothing sent in the clear.
    let (ws, config) = store(&smtp(""));
    let out = send(&ws, &config);
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        said.contains(&format!("127.0.0.1:{}", sink.port)),
        "the error names the server: {said}"
    );
    assert!(!said.contains("panicked"), "{said}");
    assert_eq!(sink.messages().len(), 1, "nothing more arrived");

    // A ca_file that is not a certificate is refused at load.
    let bad = ws.dir.path().join("bad.toml");
    std::fs::write(&bad, smtp(&format!("ca_file = \"{}\"\n", key.display()))).unwrap();
    let out = vitals(&["--config", &bad.display().to_string(), "config"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("smtp.ca_file"),
        "{err}"
    );
}
