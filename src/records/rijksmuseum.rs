//! Rijksmuseum, in two shapes: API records (a JSON array, English, numeric years, units apart) and the
//! collection-system export (Dutch CSV, `;`-separated, byte-order mark, multi-values joined by `$`).

use std::path::Path;

use super::{clean, clean_list, str_field, year_range, Location, ReadOutcome, RecordError, MuseumRecord, Skipped};

pub fn read_api_json(path: &Path, outcome: &mut ReadOutcome) -> Result<(), RecordError> {
    let text = std::fs::read_to_string(path).map_err(|source| RecordError::Io { path: path.to_path_buf(), source })?;
    // The array is read element by element so that one bad object is skipped, not the whole file;
    // each element's line number is where its opening brace stands.
    let items: Vec<&serde_json::value::RawValue> = serde_json::from_str(text.trim_start_matches('\u{feff}'))
        .map_err(|e| RecordError::Malformed { path: path.to_path_buf(), why: format!("not a JSON array: {e}") })?;
    let base = text.as_ptr() as usize;
    for raw in items {
        let offset = raw.get().as_ptr() as usize - base;
        let line = text[..offset].bytes().filter(|&b| b == b'\n').count() as u64 + 1;
        let at = Location { file: path.to_path_buf(), line };
        let row = serde_json::from_str::<serde_json::Value>(raw.get())
            .map_err(|e| e.to_string())
            .and_then(parse_api_object);
        outcome.push(at, row);
    }
    Ok(())
}

fn parse_api_object(value: serde_json::Value) -> Result<MuseumRecord, String> {
    if !value.is_object() {
        return Err("array element is not an object".into());
    }
    let number = str_field(&value, "objectNumber").map(str::trim).filter(|s| !s.is_empty()).ok_or("missing objectNumber")?;
    let year = match value.get("dateOfProduction") {
        Some(serde_json::Value::Number(n)) => n.as_i64().map(|y| y as i32),
        Some(serde_json::Value::String(s)) => year_range(s).map(|(a, _)| a),
        _ => None,
    };
    let dimensions: Vec<String> = (0..4)
        .filter_map(|i| {
            let v = scalar(&value, &format!("dimensions{i}Value"))?;
            let kind = str_field(&value, &format!("dimensions{i}Type")).unwrap_or("");
            let unit = str_field(&value, &format!("dimensions{i}Unit")).unwrap_or("");
            Some(format!("{kind} {v} {unit}").trim().to_string())
        })
        .collect();
    Ok(MuseumRecord {
        id: format!("rijks:{number}"),
        source: "rijks".into(),
        title: clean(str_field(&value, "title")).unwrap_or_default(),
        makers: clean(str_field(&value, "principalOrFirstMaker")).into_iter().collect(),
        date: year.map(|y| y.to_string()),
        year_start: year,
        year_end: year,
        object_type: None,
        medium: clean(str_field(&value, "physicalMedium")),
        dimensions: (!dimensions.is_empty()).then(|| dimensions.join(", ")),
        description: None,
        subjects: Vec::new(),
        place: None,
        credit: str_field(&value, "acquisitionDate")
            .and_then(|d| d.get(..4))
            .map(|y| format!("Acquired {y}")),
        url: Some(format!("https://www.rijksmuseum.nl/en/collection/{number}")),
        language: "en".into(),
    })
}

fn scalar(value: &serde_json::Value, key: &str) -> Option<String> {
    match value.get(key)? {
        serde_json::Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

pub fn read_export_csv(path: &Path, outcome: &mut ReadOutcome) -> Result<(), RecordError> {
    let io = |source| RecordError::Io { path: path.to_path_buf(), source };
    let file = std::fs::File::open(path).map_err(io)?;
    let mut reader = csv::ReaderBuilder::new().delimiter(b';').flexible(false).from_reader(file);
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| RecordError::Malformed { path: path.to_path_buf(), why: format!("unreadable header: {e}") })?
        .iter()
        .map(|h| h.trim_start_matches('\u{feff}').to_string())
        .collect();
    let column = |name: &str| headers.iter().position(|h| h == name);
    let Some(number_col) = column("objectnummer") else {
        return Err(RecordError::Malformed { path: path.to_path_buf(), why: "no objectnummer column".into() });
    };
    let columns = ExportColumns {
        number: number_col,
        title: column("titel"),
        description: column("beschrijving"),
        maker: column("vervaardiger"),
        start: column("datering.datum.start"),
        end: column("datering.datum.eind"),
        kind: column("objectnaam"),
        material: column("materiaal"),
        place: column("geografisch_trefwoord"),
        subjects: ["inhoud.hoofdmotief.algemeen", "inhoud.hoofdmotief.specifiek", "inhoud.onderwerp", "inhoud.persoon.naam"]
            .iter()
            .filter_map(|c| column(c))
            .collect(),
        url: column("PID_werk.URI"),
    };
    for row in reader.records() {
        match row {
            Ok(row) => {
                let line = row.position().map_or(0, |p| p.line());
                let at = Location { file: path.to_path_buf(), line };
                outcome.push(at, parse_export_row(&row, &columns));
            }
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                outcome.skipped.push(Skipped { at: Location { file: path.to_path_buf(), line }, reason: e.to_string() });
            }
        }
    }
    Ok(())
}

struct ExportColumns {
    number: usize,
    title: Option<usize>,
    description: Option<usize>,
    maker: Option<usize>,
    start: Option<usize>,
    end: Option<usize>,
    kind: Option<usize>,
    material: Option<usize>,
    place: Option<usize>,
    subjects: Vec<usize>,
    url: Option<usize>,
}

/// The description with "Also titled: …" after it when a work has more than one title.
fn with_other_titles(description: Option<String>, other_titles: &[String]) -> Option<String> {
    if other_titles.is_empty() {
        return description;
    }
    let also = format!("Also titled: {}.", other_titles.join("; "));
    Some(match description {
        Some(d) => format!("{d} {also}"),
        None => also,
    })
}

fn parse_export_row(row: &csv::StringRecord, c: &ExportColumns) -> Result<MuseumRecord, String> {
    let get = |col: Option<usize>| col.and_then(|i| row.get(i)).unwrap_or("");
    let multi = |col: Option<usize>| clean_list(get(col).split('$'));
    let number = get(Some(c.number)).trim();
    if number.is_empty() {
        return Err("missing objectnummer".into());
    }
    let start = year_range(get(c.start)).map(|(a, _)| a);
    let end = year_range(get(c.end)).map(|(_, b)| b).or(start);
    let start = start.or(end);
    let date = match (start, end) {
        (Some(a), Some(b)) if a == b => Some(a.to_string()),
        (Some(a), Some(b)) => Some(format!("{a}-{b}")),
        _ => None,
    };
    let mut subjects = Vec::new();
    for &col in &c.subjects {
        for s in multi(Some(col)) {
            if !subjects.contains(&s) {
                subjects.push(s);
            }
        }
    }
    // The export joins a work's titles with `$`, current title first ("Koopman en een tot slaaf gemaakte
    // bediende$Portret van een koopman met een slaaf"); the others stay searchable in the description.
    let titles: Vec<String> = get(c.title).split('$').filter_map(|t| clean(Some(t))).collect();
    let kinds = multi(c.kind);
    let materials = multi(c.material);
    let places = multi(c.place);
    Ok(MuseumRecord {
        id: format!("rijks:{number}"),
        source: "rijks".into(),
        title: titles.first().cloned().unwrap_or_default(),
        makers: multi(c.maker),
        date,
        year_start: start,
        year_end: end,
        object_type: kinds.first().cloned(),
        medium: (!materials.is_empty()).then(|| materials.join(", ")),
        dimensions: None,
        description: with_other_titles(clean(Some(get(c.description))), titles.get(1..).unwrap_or_default()),
        subjects,
        place: (!places.is_empty()).then(|| places.join("; ")),
        credit: None,
        url: clean(Some(get(c.url))),
        language: "nl".into(),
    })
}
