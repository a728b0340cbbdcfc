//! `vitals serve` (the API server) and `vitals token create|list|revoke` (its access tokens).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Result;
use clap::{Args, Subcommand};
use vitals_backend::Scope;
use vitals_core::config::Config;
use vitals_server::{ConnectionLimits, GroupCommit, Limits, ServeOptions};

use crate::backend::Workload;
use crate::store_target::open;
use crate::UserError;

/// Arguments of `vitals serve`.
#[derive(Args)]
pub struct ServeArgs {
    /// The store: a DuckDB file (created when missing) or clickhouse://HOST:PORT/DATABASE.
    /// Default: `vitals.duckdb`, or the demo's `vitals-demo.duckdb` (with `vitals-demo.toml`)
    /// when only that exists here.
    #[arg(long, env = "VITALS_DB")]
    pub db: Option<PathBuf>,
    /// Address to listen on; a non-loopback address should sit behind a TLS proxy.
    #[arg(long, default_value = "127.0.0.1:8080", env = "VITALS_ADDR")]
    pub addr: SocketAddr,
    /// Largest request body in bytes (larger ingest bodies get 413).
    #[arg(long, default_value_t = 64 * 1024 * 1024)]
    pub max_body_bytes: usize,
    /// Query results kept in the cache (emptied by every commit).
    #[arg(long, default_value_t = 1024)]
    pub cache_entries: usize,
    /// Records after which a group commit is written without waiting longer.
    #[arg(long, default_value_t = 50_000)]
    pub batch_records: usize,
    /// Milliseconds the writer waits for more requests to share a commit.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(0..=60_000))]
    pub batch_wait_ms: u64,
    /// Write jobs the queue holds before ingest answers 503 with Retry-After.
    #[arg(long, default_value_t = 256)]
    pub queue_jobs: usize,
    /// The server is reached over HTTPS (a TLS proxy in front): session cookies get `Secure`.
    #[arg(long)]
    pub https: bool,
    /// Serve `/metrics` without a token (by default it needs a `read` token, since it shows
    /// ingest volume and traffic to anyone who can reach the server).
    #[arg(long)]
    pub public_metrics: bool,
    /// Seconds a client has to send a request's headers; an idle kept-alive connection is
    /// closed after as long.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub header_timeout_secs: u64,
    /// Seconds a request body may stall before the request is cut off.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub body_timeout_secs: u64,
    /// Connections open at once (more wait until one closes).
    #[arg(long, default_value_t = 1024, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub max_connections: u64,
    /// Seconds a query may run before it is stopped (0: no limit; fractions allowed);
    /// overrides `[limits] query_timeout_secs`.
    #[arg(long)]
    pub query_timeout_secs: Option<f64>,
}

/// The store to serve and its configuration: as given, else `vitals.duckdb`, else — right
/// after `vitals demo` — the demo's store with the demo's configuration.
fn store_and_config(
    db: Option<PathBuf>,
    config: &Config,
    explicit_config: bool,
) -> Result<(PathBuf, Config)> {
    if let Some(db) = db {
        return Ok((db, config.clone()));
    }
    let default = PathBuf::from("vitals.duckdb");
    let demo = PathBuf::from(crate::cmd_demo::DEMO_DB);
    if default.exists() || !demo.exists() {
        return Ok((default, config.clone()));
    }
    let demo_config = PathBuf::from(crate::cmd_demo::DEMO_CONFIG);
    let config = if explicit_config || !demo_config.exists() {
        config.clone()
    } else {
        Config::load(Some(&demo_config)).map_err(|e| UserError(e.to_string()))?
    };
    eprintln!(
        "serving the demo store {} (no vitals.duckdb here){}",
        demo.display(),
        if explicit_config {
            ""
        } else {
            " with its configuration vitals-demo.toml"
        }
    );
    Ok((demo, config))
}

/// `vitals serve`; `explicit_config` says whether `--config` (or `VITALS_CONFIG`) named one.
pub fn serve(args: ServeArgs, config: &Config, explicit_config: bool) -> Result<()> {
    let (db, config) = store_and_config(args.db.clone(), config, explicit_config)?;
    let mut config = crate::store_target::apply(&config, &db)?.into_owned();
    if let Some(seconds) = args.query_timeout_secs {
        let most = vitals_core::config::MAX_TIMEOUT_SECS;
        if !(0.0..=most).contains(&seconds) {
            return Err(UserError(format!(
                "--query-timeout-secs {seconds}: a number of seconds from 0 (no limit) to {most}"
            ))
            .into());
        }
        config.limits.query_timeout_secs = seconds;
    }
    let config = &config;
    if !args.addr.ip().is_loopback() && !args.https {
        eprintln!(
            "warning: listening on {} without TLS: tokens and answers cross the network in clear; \
             put a TLS proxy in front (and pass --https)",
            args.addr
        );
    }
    // The warm list is named after the store: beside the file, or in the current directory
    // after a ClickHouse database.
    let warm_name = if crate::store_target::is_clickhouse(&db) {
        PathBuf::from(crate::store_target::stem(&db))
    } else {
        db.clone()
    };
    let options = ServeOptions {
        db: warm_name,
        addr: args.addr,
        config: config.clone(),
        limits: Limits {
            max_body_bytes: args.max_body_bytes,
            cache_entries: args.cache_entries,
            secure_cookies: args.https,
            public_metrics: args.public_metrics,
            connections: ConnectionLimits {
                header_timeout: Duration::from_secs(args.header_timeout_secs),
                body_timeout: Duration::from_secs(args.body_timeout_secs),
                max_connections: usize::try_from(args.max_connections).unwrap_or(1024),
            },
        },
        batching: GroupCommit {
            queue_jobs: args.queue_jobs.max(1),
            batch_records: args.batch_records.max(1),
            batch_wait: Duration::from_millis(args.batch_wait_ms),
        },
    };
    let backend = open(config, &db, Workload::Mixed)?;
    let db = db.display().to_string();
    vitals_server::serve(options, backend, |addr| {
        eprintln!(
            "vitals serve: http://{addr} (store {db}); API at http://{addr}/api/v1, Ctrl-C stops"
        );
    })
    .map_err(|e| match e {
        vitals_server::ServerError::Backend(s) if s.is_user_error() => {
            UserError(s.to_string()).into()
        }
        vitals_server::ServerError::Bind { .. } | vitals_server::ServerError::Setup(_) => {
            UserError(e.to_string()).into()
        }
        other => anyhow::Error::from(other),
    })
}

/// Arguments of `vitals token`.
#[derive(Args)]
pub struct TokenArgs {
    /// The store: a DuckDB file, or clickhouse://HOST:PORT/DATABASE.
    #[arg(
        long,
        default_value = "vitals.duckdb",
        env = "VITALS_DB",
        global = true
    )]
    pub db: PathBuf,
    #[command(subcommand)]
    pub action: TokenAction,
}

/// What to do with tokens.
#[derive(Subcommand)]
pub enum TokenAction {
    /// Create a token and print it (shown once; the store keeps only its hash).
    Create {
        /// Scopes, comma-separated: read, ingest, admin (admin implies all).
        #[arg(long, value_delimiter = ',', required = true)]
        scope: Vec<String>,
        /// A name to recognise it by.
        #[arg(long, default_value = "")]
        name: String,
    },
    /// List tokens (never their secrets).
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Revoke a token by id (or the whole token).
    Revoke {
        /// Token id (as `vitals token list` shows it) or the token itself.
        id: String,
    },
}

/// `vitals token`.
pub fn token(args: TokenArgs, config: &Config) -> Result<()> {
    let config = &*crate::store_target::apply(config, &args.db)?;
    let backend = open(config, &args.db, Workload::Mixed)?;
    let admin = backend.admin();
    match args.action {
        TokenAction::Create { scope, name } => {
            let scopes = scope
                .iter()
                .map(|s| s.parse::<Scope>())
                .collect::<Result<Vec<_>, _>>()
                .map_err(UserError)?;
            let name = if name.is_empty() {
                scopes
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join("+")
            } else {
                name
            };
            let (info, token) = admin.create_token(&name, &scopes)?;
            eprintln!(
                "created token {} ({}) — shown once, keep it:",
                info.id, info.name
            );
            println!("{token}");
        }
        TokenAction::List { json } => {
            let tokens = admin.tokens()?;
            if json {
                println!("{}", serde_json::to_string_pretty(&tokens)?);
            } else {
                for t in tokens {
                    let scopes = t
                        .scopes
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(",");
                    let state = t
                        .revoked_at
                        .as_deref()
                        .map_or("active".to_string(), |r| format!("revoked {r}"));
                    println!(
                        "{}  {:24}  {:18}  created {}  {state}",
                        t.id, t.name, scopes, t.created_at
                    );
                }
            }
        }
        TokenAction::Revoke { id } => {
            if !admin.revoke_token(&id)? {
                return Err(UserError(format!("no active token `{id}`")).into());
            }
            eprintln!("revoked");
        }
    }
    Ok(())
}
