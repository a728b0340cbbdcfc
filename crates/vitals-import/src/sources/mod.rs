//! Source adapters: `vitals import --from SOURCE`. Each adapter (one module per help desk or
//! phone system) reads that system's export and maps every source row into canonical records
//! (the canonical format of README.md, "Import"; `vitals-core`'s `records/schema.rs`) through an [`Emitter`]; the records then take the shared validation,
//! staging and merge of a canonical import. An adapter never validates or repairs values
//! itself: it maps, and a row it cannot map is rejected with a reason, or skipped for a
//! documented reason (e.g. the call centre's PHANTOM calls), so that the source's rows always
//! reconcile: read = mapped + skipped + rejected.

mod callcenter;
mod chatwoot;
mod freshdesk;
mod json;
mod reviews;
mod servicenow;
mod tabular;
mod twitter;
mod zendesk;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use vitals_backend::RecordSink;
use vitals_core::records::{Entity, RawValue};

use crate::readers::RawRow;
use crate::{EntitySummary, ImportError, ImportOptions, Intake, Progress, Reject, RejectCode};

/// A system whose export vitals can import.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Zendesk: tickets, ticket audits, users and satisfaction ratings (API JSON).
    Zendesk,
    /// Freshdesk: the ticket CSV export, conversations and satisfaction ratings (API JSON).
    Freshdesk,
    /// Chatwoot: conversations and messages (API JSON), CSAT survey responses.
    Chatwoot,
    /// ServiceNow: the incident event log (one row per update).
    Servicenow,
    /// Per-call records in the Technion "Anonymous Bank" layout.
    Callcenter,
    /// Customer-support threads on Twitter (the TWCS layout).
    Twitter,
    /// A survey-style CSV with a configurable column map (e.g. Olist order reviews).
    Reviews,
}

impl Source {
    /// Every source, in the order the help lists them.
    pub const ALL: [Source; 7] = [
        Source::Zendesk,
        Source::Freshdesk,
        Source::Chatwoot,
        Source::Servicenow,
        Source::Callcenter,
        Source::Twitter,
        Source::Reviews,
    ];

    /// The name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Source::Zendesk => "zendesk",
            Source::Freshdesk => "freshdesk",
            Source::Chatwoot => "chatwoot",
            Source::Servicenow => "servicenow",
            Source::Callcenter => "callcenter",
            Source::Twitter => "twitter",
            Source::Reviews => "reviews",
        }
    }

    /// The source named `name`, if any.
    pub fn parse(name: &str) -> Option<Source> {
        Source::ALL
            .into_iter()
            .find(|s| s.name().eq_ignore_ascii_case(name))
    }

    /// The canonical entities the adapter writes, parents first.
    pub fn entities(self) -> &'static [&'static str] {
        match self {
            Source::Zendesk | Source::Freshdesk | Source::Chatwoot => &[
                "tickets",
                "ticket_events",
                "surveys_sent",
                "survey_responses",
            ],
            Source::Servicenow | Source::Twitter => &["tickets", "ticket_events"],
            Source::Callcenter => &["calls", "self_service"],
            Source::Reviews => &["surveys_sent", "survey_responses"],
        }
    }

    /// File extensions the adapter reads from a folder (files named on the command line
    /// are always read).
    pub fn extensions(self) -> &'static [&'static str] {
        match self {
            Source::Zendesk | Source::Chatwoot => &["json", "ndjson", "jsonl"],
            Source::Freshdesk => &["csv", "json", "ndjson", "jsonl"],
            Source::Servicenow | Source::Twitter | Source::Reviews => &["csv"],
            Source::Callcenter => &["txt", "tsv", "csv"],
        }
    }

    /// True when the export writes local times without a zone, so `--tz` is required.
    pub fn needs_zone(self) -> bool {
        matches!(
            self,
            Source::Freshdesk | Source::Servicenow | Source::Callcenter | Source::Reviews
        )
    }
}

/// Settings of the adapters that need some.
#[derive(Debug, Clone, Default)]
pub struct SourceOptions {
    /// `reviews`: canonical column → source column (`--map score=review_score`); unset
    /// columns fall back to the Olist layout's names.
    pub column_map: Vec<(String, String)>,
    /// `reviews`: the survey the scores belong to (default `csat`).
    pub survey: Option<String>,
    /// `zendesk`: user ids whose comments are a bot's (`[import.zendesk] bot_user_ids`).
    pub zendesk_bot_user_ids: Vec<String>,
}

/// What happened to the rows of the source's own files.
#[derive(Debug, Clone, Default)]
pub struct SourceRows {
    /// The source's name.
    pub source: String,
    /// Files read.
    pub files: Vec<PathBuf>,
    /// Source rows (or JSON items) read.
    pub read: u64,
    /// Rows left out for a documented reason, by reason.
    pub skipped: BTreeMap<String, u64>,
    /// Rows that could not be mapped (each is in the rejects file with its reason).
    pub rejected: u64,
    /// What the export given cannot measure (said in the import summary).
    pub cannot_measure: Vec<String>,
}

impl SourceRows {
    /// Rows mapped into records: read − skipped − rejected.
    pub fn mapped(&self) -> u64 {
        self.read - self.skipped.values().sum::<u64>() - self.rejected
    }
}

/// One canonical entity's staging during a source import.
pub(crate) struct Output<'s> {
    pub entity: &'static Entity,
    pub writer: Box<dyn RecordSink + 's>,
    pub summary: EntitySummary,
}

/// A canonical record being built by an adapter.
pub(crate) struct Rec {
    entity: &'static Entity,
    cells: Vec<Option<RawValue>>,
}

impl Rec {
    /// An empty record of the entity `name`.
    pub fn new(name: &str) -> Rec {
        let entity = vitals_core::records::entity(name).expect("adapters name known entities");
        Rec {
            entity,
            cells: vec![None; entity.columns.len()],
        }
    }

    /// Sets a column (an empty text or `None` leaves it empty).
    pub fn set(mut self, column: &str, value: impl Into<Cell>) -> Rec {
        let i = self
            .entity
            .column_index(column)
            .unwrap_or_else(|| panic!("`{column}` is not a column of {}", self.entity.name));
        self.cells[i] = value.into().0;
        self
    }
}

/// A value for [`Rec::set`].
pub(crate) struct Cell(Option<RawValue>);

impl From<&str> for Cell {
    fn from(s: &str) -> Cell {
        Cell((!s.is_empty()).then(|| RawValue::Text(s.to_string())))
    }
}
impl From<String> for Cell {
    fn from(s: String) -> Cell {
        Cell((!s.is_empty()).then_some(RawValue::Text(s)))
    }
}
impl From<Option<&str>> for Cell {
    fn from(s: Option<&str>) -> Cell {
        s.map_or(Cell(None), Cell::from)
    }
}
impl From<Option<String>> for Cell {
    fn from(s: Option<String>) -> Cell {
        s.map_or(Cell(None), Cell::from)
    }
}
impl From<bool> for Cell {
    fn from(b: bool) -> Cell {
        Cell(Some(RawValue::Bool(b)))
    }
}
impl From<Option<bool>> for Cell {
    fn from(b: Option<bool>) -> Cell {
        Cell(b.map(RawValue::Bool))
    }
}
impl From<f64> for Cell {
    fn from(n: f64) -> Cell {
        Cell(Some(RawValue::Number(n)))
    }
}
impl From<Option<f64>> for Cell {
    fn from(n: Option<f64>) -> Cell {
        Cell(n.map(RawValue::Number))
    }
}
/// An instant (UTC microseconds) known from the source itself.
pub(crate) struct Instant(pub i64);
impl From<Instant> for Cell {
    fn from(t: Instant) -> Cell {
        Cell(Some(RawValue::Instant(t.0)))
    }
}
impl From<Option<Instant>> for Cell {
    fn from(t: Option<Instant>) -> Cell {
        Cell(t.map(|t| RawValue::Instant(t.0)))
    }
}

/// Where adapters put what they read: records to validate and stage, source rows skipped or
/// rejected, and progress.
pub(crate) struct Emitter<'a, 's> {
    intake: &'a mut Intake,
    outputs: Vec<Output<'s>>,
    progress: &'a mut dyn Progress,
    rows: SourceRows,
    file: PathBuf,
}

impl<'a, 's> Emitter<'a, 's> {
    pub fn new(
        intake: &'a mut Intake,
        outputs: Vec<Output<'s>>,
        progress: &'a mut dyn Progress,
    ) -> Self {
        Emitter {
            intake,
            outputs,
            progress,
            rows: SourceRows::default(),
            file: PathBuf::new(),
        }
    }

    /// A source file starts.
    pub fn begin_file(&mut self, path: &Path) {
        self.file = path.to_path_buf();
        self.rows.files.push(path.to_path_buf());
        let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        self.progress.start_file(path, size);
    }

    /// The import's resource limits.
    pub fn limits(&self) -> crate::Limits {
        self.intake.limits
    }

    /// Bytes of the current file read so far.
    pub fn advance(&mut self, bytes: u64) {
        self.progress.advance(bytes);
    }

    /// The current file is done.
    pub fn end_file(&mut self) {
        self.progress.finish_file();
    }

    /// One source row (or JSON item) was read.
    pub fn row(&mut self) {
        self.rows.read += 1;
    }

    /// Something the export given cannot measure, for the import summary.
    pub fn note(&mut self, what: &str) {
        self.rows.cannot_measure.push(what.to_string());
    }

    /// The current row is left out for a documented reason.
    pub fn skip(&mut self, reason: &str) {
        *self.rows.skipped.entry(reason.to_string()).or_default() += 1;
    }

    /// The current row cannot be mapped.
    pub fn reject(
        &mut self,
        line: u64,
        column: Option<&str>,
        reason: String,
        raw: String,
    ) -> Result<(), ImportError> {
        self.reject_with(RejectCode::Unmappable, line, column, reason, raw)
    }

    /// The current row is rejected with `code`.
    pub fn reject_with(
        &mut self,
        code: RejectCode,
        line: u64,
        column: Option<&str>,
        reason: String,
        raw: String,
    ) -> Result<(), ImportError> {
        self.rows.rejected += 1;
        self.intake.reject(Reject {
            file: self.file.clone(),
            line,
            column: column.map(str::to_string),
            code,
            reason,
            raw,
        })
    }

    /// Hands one mapped record to validation; `line` and `raw` locate the source row.
    pub fn emit(
        &mut self,
        rec: Rec,
        line: u64,
        raw: &dyn Fn() -> String,
    ) -> Result<(), ImportError> {
        let output = self
            .outputs
            .iter_mut()
            .find(|o| o.entity.name == rec.entity.name)
            .expect("the adapter declared its entities");
        if output.summary.files.last() != Some(&self.file) {
            output.summary.files.push(self.file.clone());
        }
        // An adapter supplies every column it knows, so an empty required one is "empty".
        let present = vec![true; rec.entity.columns.len()];
        let row = RawRow {
            line,
            cells: rec.cells,
            present: &present,
            problem: None,
        };
        self.intake.take(
            &mut output.summary,
            output.writer.as_mut(),
            &self.file,
            row,
            raw,
        )
    }

    /// The staged outputs and the source's row counts.
    pub fn finish(self) -> (Vec<Output<'s>>, SourceRows) {
        (self.outputs, self.rows)
    }
}

/// Extensions of compressed files, which are never read.
const COMPRESSED: &[&str] = &["gz", "gzip", "tgz", "zip", "bz2", "xz", "zst", "7z", "lz4"];

/// Expands folders into the files the adapter reads (sorted); the other folder entries
/// are returned with the reason they were left out. A compressed file is refused.
pub fn expand(
    source: Source,
    paths: &[PathBuf],
) -> Result<(Vec<PathBuf>, crate::discover::Skipped), ImportError> {
    let mut files = Vec::new();
    let mut skipped = Vec::new();
    for candidate in crate::discover::candidates(paths)? {
        let path = candidate.path;
        let extension = path
            .extension()
            .map(|x| x.to_string_lossy().to_lowercase())
            .unwrap_or_default();
        if COMPRESSED.contains(&extension.as_str()) {
            let why = "compressed files are not read (a decompression bomb is no risk then); decompress it first";
            if !candidate.listed {
                return Err(ImportError::Usage(format!("{}: {why}", path.display())));
            }
            skipped.push((path, why.to_string()));
            continue;
        }
        let readable = path.is_file() && source.extensions().contains(&extension.as_str());
        if !candidate.listed || readable {
            files.push(path);
        } else {
            let why = format!(
                "not a {} export file ({})",
                source.name(),
                source.extensions().join(", ")
            );
            skipped.push((path, why));
        }
    }
    Ok((files, skipped))
}

/// Files with the kind an adapter tells from their names, in the adapter's reading order
/// (the kinds' order).
pub(crate) fn by_kind<K: Ord + Copy>(
    files: &[PathBuf],
    kind: impl Fn(&Path) -> Result<K, ImportError>,
) -> Result<Vec<(K, &PathBuf)>, ImportError> {
    let mut kinds = files
        .iter()
        .map(|f| kind(f).map(|k| (k, f)))
        .collect::<Result<Vec<_>, _>>()?;
    kinds.sort_by_key(|(k, _)| *k);
    Ok(kinds)
}

/// Runs the adapter of `source` over `files`.
pub(crate) fn run(
    source: Source,
    files: &[PathBuf],
    options: &ImportOptions,
    out: &mut Emitter<'_, '_>,
) -> Result<(), ImportError> {
    out.rows.source = source.name().to_string();
    if source.needs_zone() && options.default_zone.is_none() {
        return Err(ImportError::Usage(format!(
            "{} exports write local times without a UTC offset; name their zone with --tz ZONE (e.g. --tz Europe/Helsinki)",
            source.name()
        )));
    }
    match source {
        Source::Zendesk => zendesk::import(files, &options.source.zendesk_bot_user_ids, out),
        Source::Freshdesk => freshdesk::import(files, out),
        Source::Chatwoot => chatwoot::import(files, out),
        Source::Servicenow => servicenow::import(files, out),
        Source::Callcenter => callcenter::import(files, out),
        Source::Twitter => twitter::import(files, out),
        Source::Reviews => reviews::import(files, &options.source, out),
    }
}

/// A file's name, lower-cased, for adapters that tell their files apart by name.
pub(crate) fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().to_lowercase())
        .unwrap_or_default()
}
