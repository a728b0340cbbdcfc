//! API tokens (`vitals token create|list|revoke`, the server's `Authorization: Bearer`): a
//! token is `vt_<id>_<secret>`; the store keeps its id, name, scopes and the SHA-256 of its
//! secret, never the secret itself, so a token is shown once, when it is created.

use std::fmt;
use std::str::FromStr;

use rand::RngCore;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::error::{Context, StoreError};
use crate::{Reader, Store};

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
                id == self.id && constant_time_eq(&hash(secret), &self.secret_hash)
            }
            None => false,
        }
    }
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
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `n` random bytes from the operating system, as hex.
pub fn random_hex(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex(&bytes)
}

fn hash(secret: &str) -> String {
    hex(&Sha256::digest(secret.as_bytes()))
}

/// Compares without stopping at the first difference.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

const SELECT_TOKENS: &str = "SELECT token_id, name, scopes, strftime(created_at, '%Y-%m-%dT%H:%M:%SZ'), \
     strftime(revoked_at, '%Y-%m-%dT%H:%M:%SZ'), secret_hash FROM vitals_tokens ORDER BY created_at, token_id";

fn read_tokens(conn: &duckdb::Connection) -> Result<Vec<TokenInfo>, StoreError> {
    let mut stmt = match conn.prepare(SELECT_TOKENS) {
        Ok(stmt) => stmt,
        // A store written before tokens existed has none.
        Err(e) if e.to_string().contains("vitals_tokens") => return Ok(Vec::new()),
        Err(e) => return Err(e).context(|| "reading tokens".into()),
    };
    let rows = stmt
        .query_map([], |r| {
            let scopes: String = r.get(2)?;
            Ok(TokenInfo {
                id: r.get(0)?,
                name: r.get(1)?,
                scopes: scopes.split(',').filter_map(|s| s.parse().ok()).collect(),
                created_at: r.get(3)?,
                revoked_at: r.get(4)?,
                secret_hash: r.get(5)?,
            })
        })
        .context(|| "reading tokens".into())?;
    rows.collect::<Result<_, _>>()
        .context(|| "reading tokens".into())
}

impl Store {
    /// Creates a token; returns it with the whole token string, which is never stored.
    pub fn create_token(
        &self,
        name: &str,
        scopes: &[Scope],
    ) -> Result<(TokenInfo, String), StoreError> {
        let id = random_hex(6);
        let secret = random_hex(24);
        let mut scopes = scopes.to_vec();
        scopes.sort();
        scopes.dedup();
        let list = scopes
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(",");
        let created_at = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string();
        self.conn
            .execute(
                "INSERT INTO vitals_tokens VALUES (?, ?, ?, ?, CAST(? AS TIMESTAMP), NULL)",
                duckdb::params![
                    id,
                    name,
                    list,
                    hash(&secret),
                    created_at.trim_end_matches('Z')
                ],
            )
            .context(|| "creating a token".into())?;
        let info = TokenInfo {
            id: id.clone(),
            name: name.to_string(),
            scopes,
            created_at,
            revoked_at: None,
            secret_hash: hash(&secret),
        };
        Ok((info, format!("vt_{id}_{secret}")))
    }

    /// Every token, oldest first.
    pub fn tokens(&self) -> Result<Vec<TokenInfo>, StoreError> {
        read_tokens(&self.conn)
    }

    /// Revokes a token by id (or by its whole string); false when there is no such token.
    pub fn revoke_token(&self, id_or_token: &str) -> Result<bool, StoreError> {
        let id = token_id(id_or_token).unwrap_or(id_or_token.trim());
        let n = self
            .conn
            .execute(
                "UPDATE vitals_tokens SET revoked_at = current_timestamp WHERE token_id = ? AND revoked_at IS NULL",
                [id],
            )
            .context(|| "revoking a token".into())?;
        Ok(n > 0)
    }
}

impl Reader {
    /// Every token, oldest first.
    pub fn tokens(&self) -> Result<Vec<TokenInfo>, StoreError> {
        read_tokens(&self.conn)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_shown_once_stored_hashed_and_revocable() {
        let store = Store::open_in_memory().unwrap();
        let (info, token) = store
            .create_token("ci", &[Scope::Ingest, Scope::Read])
            .unwrap();
        assert!(token.starts_with(&format!("vt_{}_", info.id)));
        assert_eq!(info.scopes, vec![Scope::Read, Scope::Ingest]);
        assert!(!info.secret_hash.is_empty() && !token.contains(&info.secret_hash));
        let stored = &store.tokens().unwrap()[0];
        assert!(stored.matches(&token));
        assert!(!stored.matches(&format!("{token}x")));
        assert!(!stored.matches("vt_other_secret"));
        assert!(stored.grants(Scope::Read) && stored.grants(Scope::Ingest));
        assert!(!stored.grants(Scope::Admin));
        assert!(store.revoke_token(&info.id).unwrap());
        assert!(!store.revoke_token(&info.id).unwrap());
        assert!(!store.tokens().unwrap()[0].grants(Scope::Read));
    }

    #[test]
    fn admin_grants_everything_and_scopes_parse() {
        let store = Store::open_in_memory().unwrap();
        let (info, _) = store.create_token("root", &[Scope::Admin]).unwrap();
        assert!(Scope::ALL.iter().all(|s| info.grants(*s)));
        assert_eq!("ingest".parse::<Scope>(), Ok(Scope::Ingest));
        assert!("write".parse::<Scope>().is_err());
    }
}
