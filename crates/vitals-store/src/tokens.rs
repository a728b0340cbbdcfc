//! API tokens in the DuckDB store (`vitals_tokens`): the token model (`vitals-backend`'s
//! `tokens.rs`) kept as rows of id, name, scopes and the SHA-256 of the secret, never the
//! secret itself.

use vitals_backend::tokens::{new_token, token_id};
use vitals_backend::{Scope, TokenInfo};

use crate::error::{Context, StoreError};
use crate::Store;

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
        let created_at = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string();
        let (info, token) = new_token(name, scopes, created_at);
        let list = info
            .scopes
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(",");
        self.conn
            .execute(
                "INSERT INTO vitals_tokens VALUES (?, ?, ?, ?, CAST(? AS TIMESTAMP), NULL)",
                duckdb::params![
                    info.id,
                    info.name,
                    list,
                    info.secret_hash,
                    info.created_at.trim_end_matches('Z')
                ],
            )
            .context(|| "creating a token".into())?;
        Ok((info, token))
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
