//! CSV import and export of the subscriber list. Import streams: rows are
//! parsed and written in batches, so a file of a million rows never sits in
//! memory.

use super::Subscriptions;
use crate::domain::ConsentSource;
use crate::domain::{Frequency, Slug, Subscriber, SubscriberEmail, SubscriberStatus};
use crate::store::{ImportRow, StoreError};
use serde::Serialize;
use std::io::{Read, Write};

/// Rows written per transaction.
pub const BATCH: usize = 2_000;

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct BadRow {
    /// 1-based line number in the file (the header is line 1).
    pub line: u64,
    pub reason: String,
}

#[derive(Debug, Default, Clone, Serialize, PartialEq, Eq)]
pub struct ImportReport {
    pub rows: u64,
    pub added: u64,
    /// Pending addresses confirmed (`--confirmed`).
    pub confirmed: u64,
    /// Already on the list, left as they were.
    pub existing: u64,
    /// Unsubscribed or bounced: not re-subscribed.
    pub refused: u64,
    pub bad: Vec<BadRow>,
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("line 1: {0}")]
    Header(String),
    #[error("reading the CSV: {0}")]
    Csv(#[from] csv::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Default)]
struct Columns {
    email: usize,
    topics: Option<usize>,
    frequency: Option<usize>,
}

fn columns(header: &csv::StringRecord) -> Result<Columns, ImportError> {
    let mut c = Columns::default();
    let mut email = None;
    for (i, name) in header.iter().enumerate() {
        match name
            .trim()
            .trim_start_matches('\u{feff}')
            .to_ascii_lowercase()
            .as_str()
        {
            "email" => email = Some(i),
            "topics" => c.topics = Some(i),
            "frequency" => c.frequency = Some(i),
            other => {
                return Err(ImportError::Header(format!(
                    "unknown column `{other}`; the header is email[,topics][,frequency]"
                )));
            }
        }
    }
    c.email = email.ok_or_else(|| {
        ImportError::Header("no `email` column; the header is email[,topics][,frequency]".into())
    })?;
    Ok(c)
}

/// One line as a CSV record.
fn parse_line(line: &[u8]) -> Result<csv::StringRecord, String> {
    let text = std::str::from_utf8(line).map_err(|e| format!("not UTF-8 text: {e}"))?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .buffer_capacity(256)
        .from_reader(text.as_bytes());
    let mut record = csv::StringRecord::new();
    match reader.read_record(&mut record) {
        Ok(_) => Ok(record),
        Err(e) => Err(format!("not a CSV row: {e}")),
    }
}

fn parse_row(record: &csv::StringRecord, c: &Columns) -> Result<ImportRow, String> {
    let email = record.get(c.email).unwrap_or("");
    let email = SubscriberEmail::parse(email).map_err(|e| format!("email `{email}`: {e}"))?;
    let mut topics = Vec::new();
    if let Some(field) = c.topics.and_then(|i| record.get(i)) {
        for t in field
            .split([';', '|'])
            .map(str::trim)
            .filter(|t| !t.is_empty())
        {
            Slug::parse(t).map_err(|_| format!("topics: `{t}` is not a topic id"))?;
            topics.push(t.to_owned());
        }
    }
    topics.sort();
    topics.dedup();
    let frequency = match c.frequency.and_then(|i| record.get(i)).map(str::trim) {
        None | Some("") => Frequency::Weekly,
        Some(f) => Frequency::parse(f)?,
    };
    Ok(ImportRow {
        email,
        topics,
        frequency,
    })
}

impl Subscriptions {
    /// Imports a CSV with the header `email[,topics][,frequency]` (topics
    /// separated by `;`). Bad rows are reported by line and skipped; an
    /// address that unsubscribed or bounced is never re-subscribed.
    /// `progress` gets the number of bytes read so far.
    pub async fn import_csv<R: Read>(
        &self,
        reader: R,
        confirmed: bool,
        source: &ConsentSource,
        mut progress: impl FnMut(u64),
    ) -> Result<ImportReport, ImportError> {
        // Line by line, each parsed as one CSV record: an address list has
        // no quoted line breaks, and errors must name the physical line
        // whatever the line endings.
        let mut input = std::io::BufReader::new(reader);
        let mut buf = Vec::new();
        let mut line_no = 0u64;
        let mut bytes = 0u64;
        let mut columns_found: Option<Columns> = None;
        let mut report = ImportReport::default();
        let mut batch = Vec::with_capacity(BATCH);
        loop {
            buf.clear();
            let n = std::io::BufRead::read_until(&mut input, b'\n', &mut buf)
                .map_err(|e| ImportError::Csv(e.into()))?;
            if n == 0 {
                break;
            }
            line_no += 1;
            bytes += n as u64;
            while buf.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
                buf.pop();
            }
            let record = match parse_line(&buf) {
                Ok(r) => r,
                Err(reason) if columns_found.is_none() => return Err(ImportError::Header(reason)),
                Err(reason) => {
                    report.rows += 1;
                    report.bad.push(BadRow {
                        line: line_no,
                        reason,
                    });
                    continue;
                }
            };
            let Some(c) = &columns_found else {
                columns_found = Some(columns(&record)?);
                continue;
            };
            if record.iter().all(|f| f.is_empty()) {
                continue;
            }
            report.rows += 1;
            match parse_row(&record, c) {
                Ok(row) => batch.push(row),
                Err(reason) => report.bad.push(BadRow {
                    line: line_no,
                    reason,
                }),
            }
            if batch.len() == BATCH {
                self.write_batch(&mut batch, confirmed, source, &mut report)
                    .await?;
                progress(bytes);
            }
        }
        if columns_found.is_none() {
            return Err(ImportError::Header(
                "the file is empty; the header is email[,topics][,frequency]".into(),
            ));
        }
        self.write_batch(&mut batch, confirmed, source, &mut report)
            .await?;
        Ok(report)
    }

    async fn write_batch(
        &self,
        batch: &mut Vec<ImportRow>,
        confirmed: bool,
        source: &ConsentSource,
        report: &mut ImportReport,
    ) -> Result<(), ImportError> {
        if batch.is_empty() {
            return Ok(());
        }
        let done = self
            .store
            .import_batch(batch, confirmed, source, self.clock.now())
            .await?;
        report.added += done.added;
        report.confirmed += done.confirmed;
        report.existing += done.existing;
        report.refused += done.refused.len() as u64;
        batch.clear();
        Ok(())
    }

    /// Writes every subscriber with everything kept about them, page by
    /// page: CSV with a header, or JSON (one array).
    pub async fn export<W: Write>(
        &self,
        out: W,
        format: ExportFormat,
        status: Option<SubscriberStatus>,
    ) -> Result<u64, anyhow::Error> {
        let mut out = std::io::BufWriter::new(out);
        let mut csv_writer = None;
        match format {
            ExportFormat::Csv => {
                let mut w = csv::Writer::from_writer(Vec::new());
                w.write_record(EXPORT_COLUMNS)?;
                out.write_all(&w.into_inner().map_err(|e| anyhow::anyhow!("{e}"))?)?;
                csv_writer = Some(());
            }
            ExportFormat::Json => out.write_all(b"[")?,
        }
        let mut after = 0;
        let mut n = 0u64;
        loop {
            let page = self.store.list_subscribers(status, after, 1_000).await?;
            let Some(last) = page.last() else { break };
            after = last.id;
            for s in &page {
                if csv_writer.is_some() {
                    let mut w = csv::Writer::from_writer(Vec::new());
                    w.write_record(export_record(s))?;
                    out.write_all(&w.into_inner().map_err(|e| anyhow::anyhow!("{e}"))?)?;
                } else {
                    if n > 0 {
                        out.write_all(b",")?;
                    }
                    out.write_all(b"\n")?;
                    serde_json::to_writer(&mut out, s)?;
                }
                n += 1;
            }
        }
        if format == ExportFormat::Json {
            out.write_all(b"\n]\n")?;
        }
        out.flush()?;
        Ok(n)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    Csv,
    Json,
}

/// Columns added later go at the end, so that scripts reading by position
/// keep working.
pub const EXPORT_COLUMNS: [&str; 16] = [
    "email",
    "status",
    "topics",
    "frequency",
    "created_at",
    "consent_at",
    "consent_source",
    "consent_client",
    "confirmed_at",
    "confirmed_client",
    "unsubscribed_at",
    "bounce_count",
    "updated_at",
    "soft_bounce_count",
    "status_reason",
    "status_at",
];

fn export_record(s: &Subscriber) -> Vec<String> {
    let t =
        |d: Option<chrono::DateTime<chrono::Utc>>| d.map(|d| d.to_rfc3339()).unwrap_or_default();
    vec![
        s.email.to_string(),
        s.status.as_str().to_owned(),
        s.topics.join(";"),
        s.frequency.as_str().to_owned(),
        s.created_at.to_rfc3339(),
        s.consent.at.to_rfc3339(),
        s.consent.source.to_string(),
        s.consent.client.clone().unwrap_or_default(),
        t(s.confirmed_at),
        s.confirmed_client.clone().unwrap_or_default(),
        t(s.unsubscribed_at),
        s.bounce_count.to_string(),
        s.updated_at.to_rfc3339(),
        s.soft_bounce_count.to_string(),
        s.status_reason.clone().unwrap_or_default(),
        t(s.status_at),
    ]
}
