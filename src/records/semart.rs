//! SemArt (Web Gallery of Art texts): one painting per JSON line.
//! `technique_dimensions` holds both ("Oil on wood, 103 x 101,3 cm"); authors are "SURNAME, Given".

use super::{clean, names::reading_order, str_field, year_range, MuseumRecord};

pub fn parse(value: serde_json::Value) -> Result<MuseumRecord, String> {
    let native = str_field(&value, "id").map(str::trim).filter(|s| !s.is_empty()).ok_or("missing id")?;
    let date = clean(str_field(&value, "date"));
    let (year_start, year_end) = date.as_deref().and_then(year_range).unzip();
    let (medium, dimensions) = split_technique(str_field(&value, "technique_dimensions").unwrap_or(""));
    let mut subjects = Vec::new();
    subjects.extend(clean(str_field(&value, "type")));
    subjects.extend(clean(str_field(&value, "school")).map(|s| format!("{s} school")));
    Ok(MuseumRecord {
        id: format!("semart:{native}"),
        source: "semart".into(),
        title: clean(str_field(&value, "title")).unwrap_or_default(),
        makers: clean(str_field(&value, "author")).map(|a| vec![reading_order(&a)]).unwrap_or_default(),
        date,
        year_start,
        year_end,
        object_type: Some("painting".into()),
        medium,
        dimensions,
        description: clean(str_field(&value, "description")),
        subjects,
        place: None,
        credit: None,
        url: None,
        language: "en".into(),
    })
}

/// "Oil on wood, 103 x 101,3 cm" -> ("Oil on wood", "103 x 101,3 cm"): the dimensions start at the
/// first ", " followed by a digit (the decimal comma inside them has no space after it).
fn split_technique(text: &str) -> (Option<String>, Option<String>) {
    let at = text.match_indices(", ").map(|(i, _)| i).find(|&i| {
        text[i + 2..].chars().next().is_some_and(|c| c.is_ascii_digit())
    });
    match at {
        Some(i) => (clean(Some(&text[..i])), clean(Some(&text[i + 2..]))),
        None => (clean(Some(text)), None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn technique_and_dimensions_are_split_at_the_dimension_comma() {
        assert_eq!(
            split_technique("Oil on wood, 103 x 101,3 cm"),
            (Some("Oil on wood".into()), Some("103 x 101,3 cm".into()))
        );
        assert_eq!(
            split_technique("Tempera and gold, on panel, 50 x 40 cm"),
            (Some("Tempera and gold, on panel".into()), Some("50 x 40 cm".into()))
        );
        assert_eq!(split_technique("Fresco"), (Some("Fresco".into()), None));
    }
}
