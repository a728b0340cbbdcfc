//! vitals-mail: the one way vitals sends mail. A [`Mail`] (recipients, subject, plain text,
//! optional HTML, attachments and an idempotency key) becomes an RFC 5322 message whose
//! `Message-ID` is derived from the key, so every attempt to deliver the same thing carries the
//! same id (and `X-Vitals-Idempotency-Key` names the key). A [`Mailer`] built from `[smtp]`
//! (`Mailer::from_config`; user and password from `VITALS_SMTP_USER` / `VITALS_SMTP_PASSWORD`)
//! sends it over SMTP with lettre and rustls ([`Mailer::send`]; `[smtp] ca_file` adds certificates
//! to trust besides the system's), or writes it to a `.eml` file
//! for a dry run ([`Mailer::write_eml`]). Digests and alert e-mails both go through here.
#![deny(missing_docs)]

use std::path::Path;
use std::time::Duration;

use lettre::message::header::{ContentType, Header, HeaderName, HeaderValue};
use lettre::message::{Attachment as LettreAttachment, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{Message, SmtpTransport, Transport};
use sha2::{Digest, Sha256};
use vitals_core::config::{SmtpConfig, TlsMode, SMTP_PASSWORD_ENV, SMTP_USER_ENV};

/// The header naming a message's idempotency key.
pub const IDEMPOTENCY_HEADER: &str = "X-Vitals-Idempotency-Key";

/// Why a message could not be made or delivered.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// The configuration or the environment is wrong (the user's to fix).
    #[error("{0}")]
    Config(String),
    /// An address could not be parsed.
    #[error("`{address}` is not a mail address: {message}")]
    Address {
        /// The address as given.
        address: String,
        /// The parser's reason.
        message: String,
    },
    /// The message could not be built.
    #[error("cannot build the message: {0}")]
    Build(String),
    /// The SMTP server could not be reached or refused the message.
    #[error("cannot send through the SMTP server {server}: {message}")]
    Send {
        /// `host:port`.
        server: String,
        /// What went wrong, with its causes.
        message: String,
    },
    /// A dry run's file could not be written.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
}

/// A message to send.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Mail {
    /// Recipients, `Name <address>` or bare addresses.
    pub to: Vec<String>,
    /// The subject line.
    pub subject: String,
    /// The plain-text part (always sent, for clients that show no HTML).
    pub text: String,
    /// The HTML part, shown instead of the text where the client can.
    pub html: Option<String>,
    /// Files attached.
    pub attachments: Vec<Attachment>,
    /// The same for every attempt to deliver the same message (`digest:monthly:2026-06`,
    /// an alert's fingerprint and state): the `Message-ID` is derived from it, so a receiver
    /// can drop a repeat.
    pub idempotency_key: String,
}

/// A file attached to a [`Mail`].
#[derive(Debug, Clone, PartialEq)]
pub struct Attachment {
    /// The file name the recipient sees.
    pub filename: String,
    /// Its media type (`application/vnd.openxmlformats-officedocument.spreadsheetml.sheet`).
    pub content_type: String,
    /// Its content.
    pub bytes: Vec<u8>,
}

/// What a delivery returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    /// The message's `Message-ID`, with its angle brackets.
    pub message_id: String,
}

#[derive(Clone)]
struct IdempotencyKey(String);

impl Header for IdempotencyKey {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str(IDEMPOTENCY_HEADER)
    }

    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(IdempotencyKey(s.to_string()))
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), self.0.clone())
    }
}

/// Sends mail through one SMTP server as one sender.
pub struct Mailer {
    transport: SmtpTransport,
    from: Mailbox,
    server: String,
}

impl Mailer {
    /// A mailer for `[smtp]`, with the user and password from `VITALS_SMTP_USER` and
    /// `VITALS_SMTP_PASSWORD` when set. Nothing is connected until a message is sent.
    pub fn from_config(config: &SmtpConfig) -> Result<Mailer, MailError> {
        let user = std::env::var(SMTP_USER_ENV).ok().filter(|u| !u.is_empty());
        let password = std::env::var(SMTP_PASSWORD_ENV).ok();
        let credentials = match (user, password) {
            (Some(user), Some(password)) => Some((user, password)),
            (None, None) => None,
            (Some(_), None) => {
                return Err(MailError::Config(format!(
                    "{SMTP_USER_ENV} is set but {SMTP_PASSWORD_ENV} is not"
                )))
            }
            (None, Some(_)) => {
                return Err(MailError::Config(format!(
                    "{SMTP_PASSWORD_ENV} is set but {SMTP_USER_ENV} is not"
                )))
            }
        };
        Mailer::new(config, credentials)
    }

    /// A mailer for `[smtp]` with explicit credentials (user, password).
    pub fn new(
        config: &SmtpConfig,
        credentials: Option<(String, String)>,
    ) -> Result<Mailer, MailError> {
        let from = mailbox(&config.from)?;
        let server = format!("{}:{}", config.host, config.port());
        let send_error = |e: lettre::transport::smtp::Error| MailError::Send {
            server: server.clone(),
            message: chain(&e),
        };
        let builder = match (config.tls, &config.ca_file) {
            (TlsMode::None, _) => SmtpTransport::builder_dangerous(config.host.clone()),
            (TlsMode::Starttls, None) => {
                SmtpTransport::starttls_relay(&config.host).map_err(send_error)?
            }
            (TlsMode::Tls, None) => SmtpTransport::relay(&config.host).map_err(send_error)?,
            (mode, Some(file)) => {
                // The system's roots and the file's certificates.
                let pem = std::fs::read(file).map_err(|e| {
                    MailError::Config(format!("smtp.ca_file: cannot read {file}: {e}"))
                })?;
                let certificate = Certificate::from_pem(&pem).map_err(|e| {
                    MailError::Config(format!("smtp.ca_file: {file}: {}", chain(&e)))
                })?;
                let parameters = TlsParameters::builder(config.host.clone())
                    .add_root_certificate(certificate)
                    .build()
                    .map_err(send_error)?;
                let tls = match mode {
                    TlsMode::Tls => Tls::Wrapper(parameters),
                    _ => Tls::Required(parameters),
                };
                SmtpTransport::builder_dangerous(config.host.clone()).tls(tls)
            }
        };
        let timeout = Duration::from_secs_f64(config.timeout_secs.unwrap_or(30.0));
        let mut builder = builder.port(config.port()).timeout(Some(timeout));
        if let Some((user, password)) = credentials {
            builder = builder.credentials(Credentials::new(user, password));
        }
        Ok(Mailer {
            transport: builder.build(),
            from,
            server,
        })
    }

    /// The message as RFC 5322 bytes, and its `Message-ID`.
    pub fn render(&self, mail: &Mail) -> Result<(Vec<u8>, String), MailError> {
        let message = self.message(mail)?;
        let id = message_id_of(&message);
        Ok((message.formatted(), id))
    }

    /// Sends `mail`; an unreachable server, a refused login or a refused recipient is an
    /// error naming the server.
    pub fn send(&self, mail: &Mail) -> Result<Sent, MailError> {
        let message = self.message(mail)?;
        let message_id = message_id_of(&message);
        self.transport.send(&message).map_err(|e| MailError::Send {
            server: self.server.clone(),
            message: chain(&e),
        })?;
        Ok(Sent { message_id })
    }

    /// Writes `mail` to `path` as the RFC 5322 message [`Mailer::send`] would send (a dry
    /// run: nothing is sent).
    pub fn write_eml(&self, mail: &Mail, path: &Path) -> Result<Sent, MailError> {
        let (bytes, message_id) = self.render(mail)?;
        std::fs::write(path, bytes).map_err(|source| MailError::Write {
            path: path.display().to_string(),
            source,
        })?;
        Ok(Sent { message_id })
    }

    fn message(&self, mail: &Mail) -> Result<Message, MailError> {
        if mail.to.is_empty() {
            return Err(MailError::Build("no recipients".into()));
        }
        let domain = self.from.email.domain().to_string();
        let mut builder = Message::builder()
            .from(self.from.clone())
            .subject(mail.subject.clone())
            .message_id(Some(message_id(&mail.idempotency_key, &domain)))
            .header(IdempotencyKey(mail.idempotency_key.clone()));
        for to in &mail.to {
            builder = builder.to(mailbox(to)?);
        }
        let body = match &mail.html {
            Some(html) => MultiPart::alternative_plain_html(mail.text.clone(), html.clone()),
            None => MultiPart::mixed().singlepart(SinglePart::plain(mail.text.clone())),
        };
        let message = if mail.attachments.is_empty() {
            builder.multipart(body)
        } else {
            let mut mixed = MultiPart::mixed().multipart(body);
            for a in &mail.attachments {
                let content_type = ContentType::parse(&a.content_type)
                    .map_err(|e| MailError::Build(format!("{}: content type: {e}", a.filename)))?;
                mixed = mixed.singlepart(
                    LettreAttachment::new(a.filename.clone()).body(a.bytes.clone(), content_type),
                );
            }
            builder.multipart(mixed)
        };
        message.map_err(|e| MailError::Build(e.to_string()))
    }
}

/// The `Message-ID` of an idempotency key: `<HASH@DOMAIN>`, the same for the same key.
pub fn message_id(key: &str, domain: &str) -> String {
    let hash = Sha256::digest(key.as_bytes());
    let hex: String = hash.iter().take(16).map(|b| format!("{b:02x}")).collect();
    format!("<{hex}.vitals@{domain}>")
}

fn message_id_of(message: &Message) -> String {
    message
        .headers()
        .get_raw("Message-ID")
        .unwrap_or_default()
        .to_string()
}

fn mailbox(text: &str) -> Result<Mailbox, MailError> {
    text.parse::<Mailbox>().map_err(|e| MailError::Address {
        address: text.to_string(),
        message: e.to_string(),
    })
}

/// An error and its causes, joined.
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let next = s.to_string();
        if !text.contains(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(port: u16) -> SmtpConfig {
        SmtpConfig {
            host: "127.0.0.1".into(),
            port: Some(port),
            tls: TlsMode::None,
            from: "vitals <vitals@example.com>".into(),
            timeout_secs: Some(5.0),
            ca_file: None,
        }
    }

    fn mail() -> Mail {
        Mail {
            to: vec!["Lead <lead@example.com>".into(), "ops@example.com".into()],
            subject: "Customer service — June 2026".into(),
            text: "Tickets: 1 234".into(),
            html: Some("<p>Tickets: <b>1 234</b></p>".into()),
            attachments: vec![Attachment {
                filename: "report.xlsx".into(),
                content_type: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
                    .into(),
                bytes: b"PK\x03\x04 not really a workbook".to_vec(),
            }],
            idempotency_key: "digest:monthly:2026-06".into(),
        }
    }

    #[test]
    fn a_message_has_text_html_the_attachment_and_a_stable_id() {
        let mailer = Mailer::new(&config(2525), None).unwrap();
        let (bytes, id) = mailer.render(&mail()).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        for part in [
            "multipart/mixed",
            "multipart/alternative",
            "text/plain",
            "text/html",
            "filename=\"report.xlsx\"",
            "X-Vitals-Idempotency-Key: digest:monthly:2026-06",
            "To: Lead <lead@example.com>, ops@example.com",
        ] {
            assert!(text.contains(part), "{part} missing from\n{text}");
        }
        assert_eq!(id, message_id("digest:monthly:2026-06", "example.com"));
        let (_, again) = mailer.render(&mail()).unwrap();
        assert_eq!(id, again);
        let other = Mail {
            idempotency_key: "digest:monthly:2026-07".into(),
            ..mail()
        };
        assert_ne!(mailer.render(&other).unwrap().1, id);
    }

    #[test]
    fn a_dry_run_writes_the_message() {
        let mailer = Mailer::new(&config(2525), None).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("digest.eml");
        let sent = mailer.write_eml(&mail(), &path).unwrap();
        let written = std::fs::read_to_string(&path).unwrap();
        assert!(written.contains(&format!("Message-ID: {}", sent.message_id)));
    }

    #[test]
    fn bad_addresses_and_a_down_server_are_clear_errors() {
        let bad_from = SmtpConfig {
            from: "not an address".into(),
            ..config(2525)
        };
        assert!(matches!(
            Mailer::new(&bad_from, None),
            Err(MailError::Address { .. })
        ));
        let mailer = Mailer::new(&config(2525), None).unwrap();
        let bad_to = Mail {
            to: vec!["nobody".into()],
            ..mail()
        };
        assert!(mailer
            .render(&bad_to)
            .unwrap_err()
            .to_string()
            .contains("nobody"));
        // A port that was free a moment ago: nothing listens there.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let e = Mailer::new(&config(port), None)
            .unwrap()
            .send(&mail())
            .unwrap_err();
        assert!(matches!(e, MailError::Send { .. }), "{e}");
        assert!(
            e.to_string().starts_with(&format!(
                "cannot send through the SMTP server 127.0.0.1:{port}"
            )),
            "{e}"
        );
    }
}
