//! curator's own JSONL: one [`MuseumRecord`] per line, so any museum can bring its own export.
//! An `id` without its `source:` prefix gets one; a missing year range is derived from `date`.

use super::{year_range, MuseumRecord};

pub fn parse(value: serde_json::Value) -> Result<MuseumRecord, String> {
    let mut record: MuseumRecord = serde_json::from_value(value).map_err(|e| format!("not a curator record: {e}"))?;
    record.source = record.source.trim().to_lowercase();
    if record.source.is_empty() || record.source.contains(':') {
        return Err(format!("invalid source {:?}", record.source));
    }
    let prefix = format!("{}:", record.source);
    if !record.id.starts_with(&prefix) {
        record.id = format!("{prefix}{}", record.id.trim());
    }
    if record.year_start.is_none() && record.year_end.is_none() {
        if let Some((a, b)) = record.date.as_deref().and_then(year_range) {
            record.year_start = Some(a);
            record.year_end = Some(b);
        }
    }
    record.year_start = record.year_start.or(record.year_end);
    record.year_end = record.year_end.or(record.year_start);
    Ok(record)
}
