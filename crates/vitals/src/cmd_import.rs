//! `vitals import`: runs the importer with a progress bar on a terminal and prints the
//! per-entity summary (read = kept + rejected; what the merge did) and the first rejects.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::Result;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use vitals_backend::Backend;
use vitals_core::config::{parse_zone, Config};
use vitals_import::sources::SourceOptions;
use vitals_import::{
    import_paths, import_source, ImportOptions, ImportSummary, Limits, Progress, Source,
};

use crate::UserError;

/// Arguments of `vitals import`.
#[derive(Args)]
pub struct ImportArgs {
    /// Folders or files to import.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// The store: a DuckDB file, or clickhouse://HOST:PORT/DATABASE.
    #[arg(long, default_value = "vitals.duckdb", env = "VITALS_DB")]
    pub db: PathBuf,
    /// Zone for timestamps written without an offset (otherwise they are rejected; required
    /// for sources that write local times: freshdesk, servicenow, callcenter, reviews).
    #[arg(long)]
    pub tz: Option<String>,
    /// Import another system's export through its adapter (see README "Importers").
    #[arg(long, value_name = "SOURCE", value_parser = source_names())]
    pub from: Option<String>,
    /// `--from reviews`: map a canonical column to a source column, TARGET=SOURCE_COLUMN
    /// (repeatable; e.g. --map score=rating).
    #[arg(long = "map", value_name = "TARGET=COLUMN", value_parser = parse_mapping)]
    pub column_map: Vec<(String, String)>,
    /// `--from reviews`: the survey the scores belong to (default csat).
    #[arg(long)]
    pub survey: Option<String>,
    /// Send the records to a running `vitals serve` at this URL instead of opening the store
    /// (canonical CSV and NDJSON; token from VITALS_TOKEN).
    #[arg(long, env = "VITALS_SERVER", conflicts_with = "from")]
    pub server: Option<String>,
}

/// The adapters' names, for `--from`'s validation and help.
fn source_names() -> clap::builder::PossibleValuesParser {
    clap::builder::PossibleValuesParser::new(Source::ALL.map(Source::name))
}

fn parse_mapping(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((target, column)) if !target.trim().is_empty() && !column.trim().is_empty() => {
            Ok((target.trim().to_string(), column.trim().to_string()))
        }
        _ => Err(format!("`{text}` is not TARGET=COLUMN")),
    }
}

struct Bar {
    bar: Option<ProgressBar>,
}

impl Progress for Bar {
    fn start_file(&mut self, file: &Path, total: u64) {
        if !std::io::stderr().is_terminal() {
            return;
        }
        let bar = if total > 0 {
            ProgressBar::new(total)
        } else {
            ProgressBar::new_spinner()
        };
        let template = if total > 0 {
            "{msg:>28} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}"
        } else {
            "{msg:>28} {spinner} {pos} rows"
        };
        bar.set_style(
            ProgressStyle::with_template(template)
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        bar.set_message(
            file.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
        );
        self.bar = Some(bar);
    }
    fn advance(&mut self, done: u64) {
        if let Some(b) = &self.bar {
            b.set_position(done);
        }
    }
    fn finish_file(&mut self) {
        if let Some(b) = self.bar.take() {
            b.finish_and_clear();
        }
    }
}

/// The rejects file of an import: beside the store (in the current directory for a
/// ClickHouse store, named after its database).
fn rejects_path(db: &Path) -> PathBuf {
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%S");
    let name = format!("{}.rejects-{stamp}.csv", crate::store_target::stem(db));
    if crate::store_target::is_clickhouse(db) {
        return PathBuf::from(name);
    }
    db.with_file_name(name)
}

/// Imports canonical files into `db` and returns the summary (used by `demo` too).
pub fn import_into(
    db: &Path,
    paths: &[PathBuf],
    tz: Option<&str>,
    config: &Config,
) -> Result<(Box<dyn Backend>, ImportSummary)> {
    let (backend, options) = open_for_import(db, tz, config, SourceOptions::default())?;
    let summary = import_paths(backend.writer(), paths, &options, &mut Bar { bar: None })?;
    Ok((backend, summary))
}

fn open_for_import(
    db: &Path,
    tz: Option<&str>,
    config: &Config,
    mut source: SourceOptions,
) -> Result<(Box<dyn Backend>, ImportOptions)> {
    let config = &*crate::store_target::apply(config, db)?;
    let default_zone = tz.map(parse_zone).transpose().map_err(UserError)?;
    source.zendesk_bot_user_ids = config
        .import
        .zendesk
        .bot_user_ids
        .iter()
        .map(ToString::to_string)
        .collect();
    let backend = crate::backend::open(config, db, crate::backend::Workload::Bulk)?;
    let options = ImportOptions {
        config: config.clone(),
        default_zone,
        rejects_path: rejects_path(db),
        source,
        limits: Limits::from(&config.import),
    };
    Ok((backend, options))
}

/// Prints an import summary.
pub fn print_summary(summary: &ImportSummary, store: &str) {
    let mut table = comfy_table::Table::new();
    table.load_preset(comfy_table::presets::UTF8_BORDERS_ONLY);
    table.set_header([
        "entity",
        "read",
        "kept",
        "rejected",
        "new",
        "updated",
        "unchanged",
        "superseded",
    ]);
    for e in &summary.entities {
        table.add_row([
            e.entity.clone(),
            e.read.to_string(),
            e.kept.to_string(),
            e.rejected.to_string(),
            e.merge.inserted.to_string(),
            e.merge.updated.to_string(),
            e.merge.unchanged.to_string(),
            e.merge.superseded.to_string(),
        ]);
    }
    if let Some(rows) = &summary.source_rows {
        let skipped: u64 = rows.skipped.values().sum();
        println!(
            "{} export: {} rows read = {} mapped + {skipped} skipped + {} rejected",
            rows.source,
            rows.read,
            rows.mapped(),
            rows.rejected
        );
        for (reason, count) in &rows.skipped {
            println!("  skipped {count}: {reason}");
        }
        for what in &rows.cannot_measure {
            println!("  cannot measure: {what}");
        }
    }
    println!("{table}");
    let (read, kept, rejected) = summary.entities.iter().fold((0, 0, 0), |(r, k, j), e| {
        (r + e.read, k + e.kept, j + e.rejected)
    });
    println!(
        "import {} into {}: read {read} = kept {kept} + rejected {rejected}",
        summary.import_id, store
    );
    println!(
        "ticket facts derived for {} tickets",
        summary.tickets_derived
    );
    println!(
        "time: read and validate {:.2} s, merge {:.2} s, derive facts {:.2} s",
        summary.read_secs, summary.merge_secs, summary.derive_secs
    );
    for e in &summary.entities {
        for c in &e.ignored_columns {
            eprintln!("note: ignored column {c}: not part of `{}`", e.entity);
        }
        if e.merge.superseded > 0 {
            eprintln!(
                "note: {} {} rows repeated an id within this import; the last one was kept",
                e.merge.superseded, e.entity
            );
        }
    }
    for (path, why) in &summary.skipped {
        eprintln!("note: skipped {}: {why}", path.display());
    }
    if summary.orphan_events > 0 {
        eprintln!(
            "warning: {} ticket events refer to tickets not in the store; they count once their tickets are imported",
            summary.orphan_events
        );
    }
    for r in &summary.first_rejects {
        eprintln!("rejected: {r}");
    }
    if let Some(path) = &summary.rejects_file {
        let source_rejects = summary.source_rows.as_ref().map_or(0, |r| r.rejected);
        eprintln!(
            "all {} rejected rows, with their reasons: {}",
            rejected + source_rejects,
            path.display()
        );
    }
}

/// `vitals import`.
pub fn run(args: ImportArgs, config: &Config) -> Result<()> {
    if let Some(url) = &args.server {
        let (lines, rejected) =
            crate::remote::Remote::new(url)?.import(&args.paths, args.tz.as_deref())?;
        for line in lines {
            println!("{line}");
        }
        if rejected > 0 {
            eprintln!("{rejected} records rejected by the server (first ones above)");
        }
        return Ok(());
    }
    let summary = match args.from.as_deref().and_then(Source::parse) {
        None => import_into(&args.db, &args.paths, args.tz.as_deref(), config)?.1,
        Some(source) => {
            let options = SourceOptions {
                column_map: args.column_map,
                survey: args.survey,
                ..SourceOptions::default()
            };
            let (backend, options) =
                open_for_import(&args.db, args.tz.as_deref(), config, options)?;
            import_source(
                backend.writer(),
                source,
                &args.paths,
                &options,
                &mut Bar { bar: None },
            )?
        }
    };
    let store = if crate::backend::store_is_file(config) {
        args.db.display().to_string()
    } else {
        format!(
            "ClickHouse database {} at {}",
            config.store.database,
            config.store.url.as_deref().unwrap_or_default()
        )
    };
    print_summary(&summary, &store);
    Ok(())
}
