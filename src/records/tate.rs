//! Tate collection (CC0), flattened one artwork per JSON line: metadata and subject keywords, no prose.

use super::{clean, clean_list, str_field, year_range, MuseumRecord};

pub fn parse(value: serde_json::Value) -> Result<MuseumRecord, String> {
    let acno = str_field(&value, "acno").map(str::trim).filter(|s| !s.is_empty()).ok_or("missing acno")?;
    let date = clean(str_field(&value, "date"));
    let (year_start, year_end) = date.as_deref().and_then(year_range).unzip();
    let strings = |key: &str| -> Vec<&str> {
        value.get(key).and_then(|v| v.as_array()).map(|a| a.iter().filter_map(|s| s.as_str()).collect()).unwrap_or_default()
    };
    let mut subjects = clean_list(strings("subjects"));
    subjects.extend(clean_list(strings("movements")));
    let description = clean(str_field(&value, "inscription")).map(|i| format!("Inscription: {i}."));
    Ok(MuseumRecord {
        id: format!("tate:{acno}"),
        source: "tate".into(),
        title: clean(str_field(&value, "title")).unwrap_or_default(),
        makers: clean(str_field(&value, "artist")).into_iter().collect(),
        date,
        year_start,
        year_end,
        object_type: clean(str_field(&value, "classification")),
        medium: clean(str_field(&value, "medium")),
        dimensions: clean(str_field(&value, "dimensions")),
        description,
        subjects,
        place: None,
        credit: clean(str_field(&value, "creditLine")),
        url: clean(str_field(&value, "url")),
        language: "en".into(),
    })
}
