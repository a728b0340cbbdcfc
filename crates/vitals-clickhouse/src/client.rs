//! The one way vitals talks to ClickHouse: its HTTP interface, through a blocking `ureq`
//! agent (the seams are synchronous: the importer, the server's writer thread and its reader
//! pool call them from threads of their own, so an async client would need a runtime per
//! caller for nothing). Statements go in the request body, inserted data too (the statement
//! then in the `query` parameter); every statement runs in the store's database with the
//! settings vitals' SQL needs (`join_use_nulls`, synchronous inserts into `Distributed`
//! tables, global joins across shards). Answers are read as TabSeparated text
//! ([`tsv_rows`]) or as raw bytes (Arrow streams).

use std::io::Read;
use std::time::Duration;

use vitals_backend::BackendError;
use vitals_core::config::StoreConfig;
use vitals_query::Dialect;

use crate::ClickHouse;

/// The environment variables a ClickHouse user and password are read from.
pub const USER_VARIABLE: &str = "VITALS_CLICKHOUSE_USER";
/// See [`USER_VARIABLE`].
pub const PASSWORD_VARIABLE: &str = "VITALS_CLICKHOUSE_PASSWORD";

/// Why a statement failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ClickHouseError {
    /// The server could not be reached (or the connection broke).
    #[error("cannot reach ClickHouse at {url}: {message}")]
    Unreachable {
        /// The server's URL.
        url: String,
        /// What the transport said.
        message: String,
    },
    /// The server answered with an error.
    #[error("ClickHouse: {message}")]
    Server {
        /// The HTTP status.
        status: u16,
        /// ClickHouse's message (with its error code).
        message: String,
    },
}

impl ClickHouseError {
    /// ClickHouse's numeric error code (`Code: 60.` → 60), when the server gave one.
    pub fn code(&self) -> Option<u32> {
        match self {
            ClickHouseError::Server { message, .. } => message
                .split_once("Code: ")
                .and_then(|(_, rest)| rest.split(|c: char| !c.is_ascii_digit()).next())
                .and_then(|code| code.parse().ok()),
            ClickHouseError::Unreachable { .. } => None,
        }
    }
}

impl From<ClickHouseError> for BackendError {
    fn from(e: ClickHouseError) -> Self {
        match e {
            // Wrong credentials (516), an unknown database (81) or no server: the user fixes
            // the configuration or starts the server.
            ClickHouseError::Unreachable { .. } => BackendError::user(e.to_string()),
            ClickHouseError::Server { .. } if matches!(e.code(), Some(81 | 192 | 516)) => {
                BackendError::user(format!(
                    "{e}\n(check [store] url and database, and {USER_VARIABLE}/{PASSWORD_VARIABLE}; `vitals store init` creates the schema)"
                ))
            }
            ClickHouseError::Server { .. } => BackendError::internal(e.to_string()),
        }
    }
}

/// A connection to one ClickHouse server (cheap to clone: the agent's pool is shared).
#[derive(Clone)]
pub struct Client {
    agent: ureq::Agent,
    url: String,
    database: String,
    credentials: Option<(String, String)>,
    settings: Vec<(String, String)>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("url", &self.url)
            .field("database", &self.database)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client of the server at `url` (its HTTP interface), working in `database`, with a
    /// user and password when given.
    pub fn new(url: &str, database: &str, credentials: Option<(String, String)>) -> Client {
        let agent = ureq::AgentBuilder::new()
            .timeout_connect(Duration::from_secs(10))
            .build();
        Client {
            agent,
            url: url.trim_end_matches('/').to_string(),
            database: database.to_string(),
            credentials,
            settings: vec![
                ("join_use_nulls".into(), "1".into()),
                ("distributed_foreground_insert".into(), "1".into()),
                ("distributed_product_mode".into(), "global".into()),
                ("enable_materialized_cte".into(), "1".into()),
            ],
        }
    }

    /// The client `[store]` configures, with the user and password from the environment.
    pub fn from_config(store: &StoreConfig) -> Result<Client, BackendError> {
        let url = store.url.as_deref().ok_or_else(|| {
            BackendError::user("[store] url is required for engine = \"clickhouse\"")
        })?;
        let user = std::env::var(USER_VARIABLE).ok().filter(|u| !u.is_empty());
        let password = std::env::var(PASSWORD_VARIABLE).unwrap_or_default();
        Ok(Client::new(
            url,
            &store.database,
            user.map(|user| (user, password)),
        ))
    }

    /// The same server and database with one more setting on every statement.
    pub fn with_setting(mut self, name: &str, value: &str) -> Client {
        self.settings.retain(|(n, _)| n != name);
        self.settings.push((name.into(), value.into()));
        self
    }

    /// The server's URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The database vitals' tables are in.
    pub fn database(&self) -> &str {
        &self.database
    }

    /// `name` qualified with the database (an unqualified name could resolve elsewhere).
    pub fn table(&self, name: &str) -> String {
        format!("{}.{name}", self.database)
    }

    fn request(&self, query: Option<&str>, query_id: Option<&str>) -> ureq::Request {
        let mut request = self
            .agent
            .post(&format!("{}/", self.url))
            .query("database", &self.database);
        for (name, value) in &self.settings {
            request = request.query(name, value);
        }
        if let Some(query) = query {
            request = request.query("query", query);
        }
        if let Some(id) = query_id {
            request = request.query("query_id", id);
        }
        if let Some((user, password)) = &self.credentials {
            request = request
                .set("X-ClickHouse-User", user)
                .set("X-ClickHouse-Key", password);
        }
        request
    }

    fn error(&self, e: ureq::Error) -> ClickHouseError {
        match e {
            ureq::Error::Status(status, response) => ClickHouseError::Server {
                status,
                message: response
                    .into_string()
                    .unwrap_or_default()
                    .trim()
                    .to_string(),
            },
            ureq::Error::Transport(t) => ClickHouseError::Unreachable {
                url: self.url.clone(),
                // The kind and the cause, without the request's URL (its settings and query id
                // say nothing to the user; the server's URL is in the error already).
                message: [
                    Some(t.kind().to_string()),
                    t.message().map(str::to_string),
                    std::error::Error::source(&t).map(|cause| cause.to_string()),
                ]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(": "),
            },
        }
    }

    fn read(&self, response: ureq::Response) -> Result<Vec<u8>, ClickHouseError> {
        let mut body = Vec::new();
        response.into_reader().read_to_end(&mut body).map_err(|e| {
            ClickHouseError::Unreachable {
                url: self.url.clone(),
                message: e.to_string(),
            }
        })?;
        Ok(body)
    }

    /// Runs a statement that answers nothing worth reading (DDL, `INSERT … SELECT`).
    pub fn execute(&self, sql: &str) -> Result<(), ClickHouseError> {
        self.query_bytes(sql, None).map(drop)
    }

    /// Runs `sql` and answers its body as text (TabSeparated unless it says `FORMAT …`).
    pub fn query(&self, sql: &str) -> Result<String, ClickHouseError> {
        let body = self.query_bytes(sql, None)?;
        Ok(String::from_utf8_lossy(&body).into_owned())
    }

    /// Runs `sql` under `query_id` when given (so it can be killed by id), answering the
    /// body's bytes.
    pub fn query_bytes(
        &self,
        sql: &str,
        query_id: Option<&str>,
    ) -> Result<Vec<u8>, ClickHouseError> {
        let response = self
            .request(None, query_id)
            .send_string(sql)
            .map_err(|e| self.error(e))?;
        self.read(response)
    }

    /// Sends `data` to `insert` (`INSERT INTO db.t (…) FORMAT …`, the statement in the URL,
    /// the data as the body).
    pub fn insert(&self, insert: &str, data: &[u8]) -> Result<(), ClickHouseError> {
        let response = self
            .request(Some(insert), None)
            .send_bytes(data)
            .map_err(|e| self.error(e))?;
        self.read(response).map(drop)
    }
}

/// A string as a ClickHouse literal.
pub fn literal(text: &str) -> String {
    ClickHouse.string_literal(text)
}

/// One TabSeparated field: `\N` is NULL, escapes are read back.
pub fn tsv_field(text: &str) -> Option<String> {
    (text != "\\N").then(|| {
        let mut out = String::with_capacity(text.len());
        let mut chars = text.chars();
        while let Some(c) = chars.next() {
            if c == '\\' {
                match chars.next() {
                    Some('t') => out.push('\t'),
                    Some('n') => out.push('\n'),
                    Some('r') => out.push('\r'),
                    Some('0') => out.push('\0'),
                    Some(other) => out.push(other),
                    None => {}
                }
            } else {
                out.push(c);
            }
        }
        out
    })
}

/// The rows of a TabSeparated answer, each a list of fields (`None` for NULL).
pub fn tsv_rows(body: &str) -> Vec<Vec<Option<String>>> {
    body.lines()
        .map(|line| line.split('\t').map(tsv_field).collect())
        .collect()
}

/// A value written as one TabSeparated field (`\N` for NULL; tabs, newlines and backslashes
/// escaped).
pub fn tsv_escape(value: Option<&str>, out: &mut String) {
    let Some(text) = value else {
        out.push_str("\\N");
        return;
    };
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\0' => out.push_str("\\0"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tab_separated_fields_round_trip_with_nulls_and_escapes() {
        let mut line = String::new();
        for (i, value) in [Some("a\tb\\c\nd"), None, Some("")].iter().enumerate() {
            if i > 0 {
                line.push('\t');
            }
            tsv_escape(*value, &mut line);
        }
        assert_eq!(
            tsv_rows(&format!("{line}\n")),
            vec![vec![
                Some("a\tb\\c\nd".to_string()),
                None,
                Some(String::new())
            ]]
        );
    }

    #[test]
    fn server_errors_keep_their_code_and_bad_settings_are_the_users_to_fix() {
        let unknown_db = ClickHouseError::Server {
            status: 404,
            message: "Code: 81. DB::Exception: Database nope does not exist. (UNKNOWN_DATABASE)"
                .into(),
        };
        assert_eq!(unknown_db.code(), Some(81));
        let error = BackendError::from(unknown_db);
        assert!(error.is_user_error() && error.to_string().contains("vitals store init"));
        let refused = Client::new("http://127.0.0.1:1", "vitals", None).query("SELECT 1");
        let error = BackendError::from(refused.unwrap_err());
        assert!(error.is_user_error() && error.to_string().contains("127.0.0.1:1"));
    }
}
