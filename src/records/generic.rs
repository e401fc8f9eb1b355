//! curator's own JSONL: one [`MuseumRecord`] per line, so any museum can bring its own export.
//! An `id` without its `source:` prefix gets one; a missing year range is derived from `date`.

use super::{year_range, MuseumRecord};

pub fn parse(mut value: serde_json::Value) -> Result<MuseumRecord, String> {
    // A single maker or subject given as a string is a list of one (a frequent slip in hand-made exports).
    for list in ["makers", "subjects"] {
        if let Some(field) = value.get_mut(list) {
            if let serde_json::Value::String(one) = field {
                *field = serde_json::Value::Array(vec![serde_json::Value::String(std::mem::take(one))]);
            }
        }
    }
    for required in ["id", "source"] {
        if value.get(required).is_none_or(|v| v.as_str().is_none_or(|s| s.trim().is_empty())) {
            return Err(format!("missing \"{required}\" (every curator JSONL row needs \"id\" and \"source\")"));
        }
    }
    let mut record: MuseumRecord = serde_path_to_error::deserialize(value).map_err(|e| {
        let field = e.path().to_string();
        format!("field \"{field}\": {}", e.into_inner())
    })?;
    record.source = record.source.trim().to_lowercase();
    if record.source.contains(':') {
        return Err(format!("invalid source {:?}: a source name has no ':'", record.source));
    }
    let id = record.id.trim().to_string();
    record.id = match id.split_once(':') {
        // "mymuseum:B7", or "MyMuseum:B7" with the source's case.
        Some((prefix, native)) if prefix.to_lowercase() == record.source => format!("{}:{native}", record.source),
        // "other:B7" with source "mymuseum" was silently stored as "mymuseum:other:B7".
        Some((prefix, _)) => {
            return Err(format!("id {id:?} starts with source {prefix:?}, but the row's source is {:?}", record.source))
        }
        None => format!("{}:{id}", record.source),
    };
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
