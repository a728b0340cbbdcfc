//! vitals-import: reads data sets into the store — the canonical CSV, NDJSON and Parquet files
//! of the canonical format (README.md, "Import"; `vitals-core`'s `records/schema.rs`), and other systems' exports through the source adapters of `sources`
//! (`import --from`). Readers and adapters only map fields into raw cells; validation is
//! shared (vitals-core, through `Intake`), rejects are reported with file, line, column and
//! reason, counts always reconcile (read = kept + rejected), and imports stream. Records are
//! written through a backend's write seam (`vitals_backend::Writer`): streamed into a
//! `RecordSink` per entity, merged, then derived once at the end. Parquet files are read
//! with DuckDB (`vitals_store::Store::scan_parquet`) whatever the backend.
#![deny(missing_docs)]

mod body;
pub mod discover;
pub mod limits;
mod pipeline;
mod readers;
pub mod rejects;
pub mod sources;

use std::path::PathBuf;

use chrono_tz::Tz;
use vitals_backend::{BackendError, DerivationInputs, MergeCounts, RecordSink, Writer};
use vitals_core::config::Config;
use vitals_core::records::{Entity, Validator};
use vitals_store::{ParquetLimits, Store, StoreError};

pub use body::{validate_body, BodyBatch, BodyReject};
pub use discover::{DataFile, Format};
pub use limits::Limits;
use readers::{parquet_raw, parquet_row, ColumnReport, RawRow, RawText};
use rejects::RejectsFile;
pub use rejects::{Reject, RejectCode};
pub use sources::{Source, SourceRows};

/// An import that could not go on.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// A file could not be read.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A file named on the command line is not an entity file.
    #[error("{}: not a data file of vitals; name it after its entity (tickets.csv, ticket_events.ndjson, calls.parquet, …)", path.display())]
    UnknownFile {
        /// The file.
        path: PathBuf,
    },
    /// A file is unreadable as a whole.
    #[error("{}: {message}", path.display())]
    Format {
        /// The file.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// The command cannot run as given (e.g. a source that needs `--tz`).
    #[error("{0}")]
    Usage(String),
    /// The configuration is invalid.
    #[error(transparent)]
    Config(#[from] vitals_core::config::ConfigError),
    /// The built-in catalogue does not load (the stored facts' definitions).
    #[error(transparent)]
    Catalogue(#[from] vitals_core::catalogue::CatalogueError),
    /// Reading a Parquet file failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The backend failed to store or derive.
    #[error(transparent)]
    Backend(#[from] BackendError),
    /// The reading thread stopped because the writer did (the writer's error says why).
    #[error("reading stopped: the writer stopped")]
    Stopped,
}

/// How to import.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// Configuration (survey scales for validation).
    pub config: Config,
    /// Zone for timestamps written without an offset.
    pub default_zone: Option<Tz>,
    /// Where rejected rows go.
    pub rejects_path: PathBuf,
    /// Settings of source adapters (e.g. the column map of `reviews`).
    pub source: sources::SourceOptions,
    /// Bounds on the size of one record and the width of a header.
    pub limits: Limits,
}

/// Progress of an import, for a progress bar.
pub trait Progress {
    /// A file starts; `total` is its size in bytes (0 when unknown, e.g. Parquet).
    fn start_file(&mut self, file: &std::path::Path, total: u64);
    /// Position within the current file.
    fn advance(&mut self, done: u64);
    /// The current file is done.
    fn finish_file(&mut self);
}

/// A progress sink that shows nothing.
pub struct NoProgress;

impl Progress for NoProgress {
    fn start_file(&mut self, _: &std::path::Path, _: u64) {}
    fn advance(&mut self, _: u64) {}
    fn finish_file(&mut self) {}
}

/// What happened to one entity.
#[derive(Debug, Clone, Default)]
pub struct EntitySummary {
    /// Entity name.
    pub entity: String,
    /// Files read.
    pub files: Vec<PathBuf>,
    /// Rows read.
    pub read: u64,
    /// Rows that passed validation.
    pub kept: u64,
    /// Rows rejected.
    pub rejected: u64,
    /// What the merge did with the kept rows.
    pub merge: MergeCounts,
    /// Columns ignored because the entity does not know them.
    pub ignored_columns: Vec<String>,
}

/// What an import did.
#[derive(Debug, Clone, Default)]
pub struct ImportSummary {
    /// The import's id in the store.
    pub import_id: i64,
    /// Per entity, in import order.
    pub entities: Vec<EntitySummary>,
    /// Folder entries that were not data files.
    pub skipped: Vec<(PathBuf, String)>,
    /// The first rejects (for display); all are in `rejects_file`.
    pub first_rejects: Vec<Reject>,
    /// The rejects file, if anything was rejected.
    pub rejects_file: Option<PathBuf>,
    /// Tickets whose facts were (re-)derived.
    pub tickets_derived: u64,
    /// True when the business calendars changed, so every ticket's business time was re-derived.
    pub calendars_changed: bool,
    /// For an import through a source adapter: what happened to the source's own rows.
    pub source_rows: Option<SourceRows>,
    /// Events whose ticket is not in the store.
    pub orphan_events: u64,
    /// Seconds spent reading, validating and staging.
    pub read_secs: f64,
    /// Seconds spent merging staged records into the store.
    pub merge_secs: f64,
    /// Seconds spent deriving ticket facts.
    pub derive_secs: f64,
}

/// How many rejects a summary keeps for display.
const SHOWN_REJECTS: usize = 20;

/// Imports the given files and folders through a backend's writer.
pub fn import_paths(
    store: &dyn Writer,
    paths: &[PathBuf],
    options: &ImportOptions,
    progress: &mut dyn Progress,
) -> Result<ImportSummary, ImportError> {
    let (files, skipped) = discover::discover(paths)?;
    let source = paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(" ");
    let import_id = store.begin_import(&source)?;
    let mut intake = Intake::new(options);
    let mut summary = ImportSummary {
        import_id,
        skipped,
        ..Default::default()
    };

    let mut i = 0;
    while i < files.len() {
        let entity = files[i].entity;
        let phase = std::time::Instant::now();
        let mut es = EntitySummary {
            entity: entity.name.to_string(),
            ..Default::default()
        };
        let mut writer = store.stage_bulk(entity, import_id)?;
        while i < files.len() && files[i].entity.name == entity.name {
            let file = &files[i];
            es.files.push(file.path.clone());
            let total = match file.format {
                Format::Parquet => 0,
                _ => file_size(&file.path),
            };
            progress.start_file(&file.path, total);
            let report = match file.format {
                Format::Parquet => {
                    let mut report = ColumnReport::default();
                    let mut handle = |row: RawRow<'_>,
                                      position: u64,
                                      raw: RawText<'_>|
                     -> Result<(), ImportError> {
                        progress.advance(position);
                        intake.take(&mut es, writer.as_mut(), &file.path, row, raw)
                    };
                    read_parquet(file, options.limits, entity, &mut report, &mut handle)
                        .map(|()| report)
                }
                Format::Csv | Format::Ndjson => pipeline::read_file_in_parallel(
                    file,
                    &mut intake,
                    &mut es,
                    writer.as_mut(),
                    progress,
                ),
            };
            progress.finish_file();
            for c in report?.unknown {
                es.ignored_columns
                    .push(format!("{} ({})", c, file.path.display()));
            }
            i += 1;
        }
        summary.read_secs += phase.elapsed().as_secs_f64();
        let merging = std::time::Instant::now();
        es.merge = writer.merge()?;
        summary.merge_secs += merging.elapsed().as_secs_f64();
        summary.entities.push(es);
    }
    finish_import(store, options, intake, summary)
}

/// Imports a help desk's or phone system's export through its source adapter: the adapter
/// maps source rows into canonical records, which then take the same validation, staging,
/// merge and derivation as a canonical import.
pub fn import_source(
    store: &dyn Writer,
    source: Source,
    paths: &[PathBuf],
    options: &ImportOptions,
    progress: &mut dyn Progress,
) -> Result<ImportSummary, ImportError> {
    let (files, skipped) = sources::expand(source, paths)?;
    let label = format!(
        "{} {}",
        source.name(),
        paths
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(" ")
    );
    let import_id = store.begin_import(&label)?;
    let mut intake = Intake::new(options);
    let mut summary = ImportSummary {
        import_id,
        skipped,
        ..Default::default()
    };
    let phase = std::time::Instant::now();
    let mut outputs = Vec::new();
    for entity in source.entities() {
        let entity = vitals_core::records::entity(entity).expect("adapters name known entities");
        outputs.push(sources::Output {
            entity,
            writer: store.stage(entity, import_id)?,
            summary: EntitySummary {
                entity: entity.name.to_string(),
                ..Default::default()
            },
        });
    }
    let mut emitter = sources::Emitter::new(&mut intake, outputs, progress);
    sources::run(source, &files, options, &mut emitter)?;
    let (outputs, rows) = emitter.finish();
    summary.source_rows = Some(rows);
    summary.read_secs = phase.elapsed().as_secs_f64();
    for output in outputs {
        let mut es = output.summary;
        let merging = std::time::Instant::now();
        es.merge = output.writer.merge()?;
        summary.merge_secs += merging.elapsed().as_secs_f64();
        summary.entities.push(es);
    }
    finish_import(store, options, intake, summary)
}

fn file_size(path: &std::path::Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

/// Ends an import: the rejects file, the derivation of touched tickets, orphan events.
fn finish_import(
    store: &dyn Writer,
    options: &ImportOptions,
    intake: Intake,
    mut summary: ImportSummary,
) -> Result<ImportSummary, ImportError> {
    summary.first_rejects = intake.first_rejects;
    summary.rejects_file = intake.rejects.finish()?;
    let deriving = std::time::Instant::now();
    let catalogue = vitals_core::catalogue::Catalogue::builtin()?;
    let derivation = store.derive(&DerivationInputs::new(&options.config, &catalogue)?)?;
    summary.tickets_derived = derivation.tickets;
    summary.calendars_changed = derivation.calendars_changed;
    summary.derive_secs = deriving.elapsed().as_secs_f64();
    summary.orphan_events = store.orphan_event_count()?;
    Ok(summary)
}

/// Validation and reject bookkeeping shared by every import path.
pub(crate) struct Intake {
    /// The import's validator (cloned for a reading thread).
    pub validator: Validator,
    rejects: RejectsFile,
    first_rejects: Vec<Reject>,
    /// The import's resource limits.
    pub limits: Limits,
}

impl Intake {
    fn new(options: &ImportOptions) -> Self {
        Intake {
            validator: Validator::new(options.config.clone(), options.default_zone),
            rejects: RejectsFile::new(options.rejects_path.clone()),
            first_rejects: Vec::new(),
            limits: options.limits,
        }
    }

    /// Validates one row of `entity`: kept rows go to `writer`, rejected ones to the rejects file.
    pub(crate) fn take(
        &mut self,
        es: &mut EntitySummary,
        writer: &mut dyn RecordSink,
        file: &std::path::Path,
        row: RawRow<'_>,
        raw: RawText<'_>,
    ) -> Result<(), ImportError> {
        es.read += 1;
        let outcome = Self::check(&self.validator, writer.entity(), &row);
        match outcome {
            Ok(record) => {
                es.kept += 1;
                writer.append(&record)?;
                Ok(())
            }
            Err((code, column, reason)) => {
                es.rejected += 1;
                self.reject(Reject {
                    file: file.to_path_buf(),
                    line: row.line,
                    column,
                    code,
                    reason,
                    raw: raw(),
                })
            }
        }
    }

    /// Validates one row read for `entity`: its record, or why it is rejected (code, column,
    /// reason) — a problem the reader found first wins.
    pub(crate) fn check(
        validator: &Validator,
        entity: &Entity,
        row: &RawRow<'_>,
    ) -> Result<vitals_core::records::Record, (RejectCode, Option<String>, String)> {
        match &row.problem {
            Some(problem) => Err(problem.clone()),
            None => validator
                .validate(entity, &row.cells, row.present)
                .map_err(|r| (RejectCode::Invalid, r.column, r.reason)),
        }
    }

    /// Records a rejected row.
    pub(crate) fn reject(&mut self, reject: Reject) -> Result<(), ImportError> {
        self.rejects.write(&reject)?;
        if self.first_rejects.len() < SHOWN_REJECTS {
            self.first_rejects.push(reject);
        }
        Ok(())
    }
}

fn read_parquet(
    file: &DataFile,
    limits: Limits,
    entity: &'static Entity,
    report: &mut ColumnReport,
    handle: &mut dyn FnMut(RawRow<'_>, u64, RawText<'_>) -> Result<(), ImportError>,
) -> Result<(), ImportError> {
    *report = ColumnReport {
        present: vec![false; entity.columns.len()],
        unknown: Vec::new(),
    };
    let path = file.path.display().to_string();
    let mut failure = None;
    let bounds = ParquetLimits {
        max_record_bytes: limits.max_record_bytes,
        max_columns: limits.max_columns,
    };
    let scanned = Store::scan_parquet(&path, bounds, |number, named, oversize| {
        let mut row = parquet_row(entity, number, &named, report);
        if let Some(size) = oversize {
            row.problem = Some((
                RejectCode::TooLarge,
                None,
                format!("{} ({size} bytes)", limits.record_message()),
            ));
        }
        handle(row, number, &|| parquet_raw(&named)).map_err(|e| {
            failure = Some(e);
            StoreError::Interrupted
        })
    });
    match (failure, scanned) {
        (Some(e), _) => Err(e),
        (None, Err(e)) => Err(e.into()),
        (None, Ok(_)) => Ok(()),
    }
}
