//! The API token model every backend stores (`vitals token create|list|revoke`, the server's
//! `Authorization: Bearer`): a token is `vt_<id>_<secret>`; a backend keeps its id, name,
//! scopes and the SHA-256 of its secret, never the secret itself, so a token is shown once,
//! when it is created.

use std::fmt;
use std::str::FromStr;

use rand::RngCore;
use serde::Serialize;
use sha2::{Digest, Sha256};

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Queries, catalogue, SLA, spikes, drill-down, the dashboard.
    Read,
    /// Posting records, survey links and annotations.
    Ingest,
    /// Everything, including tokens.
    Admin,
}

impl Scope {
    /// Every scope, in order.
    pub const ALL: [Scope; 3] = [Scope::Read, Scope::Ingest, Scope::Admin];

    /// The scope's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::Ingest => "ingest",
            Scope::Admin => "admin",
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Scope {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Scope::ALL
            .into_iter()
            .find(|scope| scope.as_str() == s.trim())
            .ok_or_else(|| format!("unknown scope `{s}` (read, ingest, admin)"))
    }
}

/// A stored token (without its secret).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TokenInfo {
    /// Public id (the part after `vt_`).
    pub id: String,
    /// A name to recognise it by.
    pub name: String,
    /// What it may do (`admin` implies every scope).
    pub scopes: Vec<Scope>,
    /// When it was created (RFC 3339, UTC).
    pub created_at: String,
    /// When it was revoked, if it was.
    pub revoked_at: Option<String>,
    /// SHA-256 of the secret, hex.
    #[serde(skip)]
    pub secret_hash: String,
}

impl TokenInfo {
    /// Whether the token grants `scope` (revoked tokens grant nothing).
    pub fn grants(&self, scope: Scope) -> bool {
        self.revoked_at.is_none()
            && (self.scopes.contains(&scope) || self.scopes.contains(&Scope::Admin))
    }

    /// Whether `token` (the whole `vt_<id>_<secret>` string) is this token.
    pub fn matches(&self, token: &str) -> bool {
        match split_token(token) {
            Some((id, secret)) => {
                id == self.id && constant_time_eq(&secret_hash(secret), &self.secret_hash)
            }
            None => false,
        }
    }
}

/// A new token: its stored form and the whole token string, which no backend stores.
pub fn new_token(name: &str, scopes: &[Scope], created_at: String) -> (TokenInfo, String) {
    let id = random_hex(6);
    let secret = random_hex(24);
    let mut scopes = scopes.to_vec();
    scopes.sort();
    scopes.dedup();
    let info = TokenInfo {
        id: id.clone(),
        name: name.to_string(),
        scopes,
        created_at,
        revoked_at: None,
        secret_hash: secret_hash(&secret),
    };
    (info, format!("vt_{id}_{secret}"))
}

/// The id part of a presented token, for looking it up.
pub fn token_id(token: &str) -> Option<&str> {
    split_token(token).map(|(id, _)| id)
}

fn split_token(token: &str) -> Option<(&str, &str)> {
    let rest = token.trim().strip_prefix("vt_")?;
    let (id, secret) = rest.split_once('_')?;
    (!id.is_empty() && !secret.is_empty()).then_some((id, secret))
}

/// Lower-case hex of bytes.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `n` random bytes from the operating system, as hex.
pub fn random_hex(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex(&bytes)
}

fn secret_hash(secret: &str) -> String {
    hex(&Sha256::digest(secret.as_bytes()))
}

/// Compares without stopping at the first difference.
fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}
