//! Metadata filters. [`Filters::matches`] is the reference meaning; the text index translates the same
//! meaning into tantivy queries and the vector index applies `matches` during graph search, so a filtered
//! query holds in every retrieval mode.

use serde::{Deserialize, Serialize};

use crate::records::MuseumRecord;

/// A year range written in a query ("portraits of Dutch merchants 1600-1650", "between 1600 and 1650",
/// "from 1600 to 1650"): four-digit years from 1000 to 2100, the first not after the second.
pub fn years_in_text(text: &str) -> Option<(i32, i32)> {
    let year = |word: &str| -> Option<i32> {
        let word = word.trim_matches(|c: char| !c.is_ascii_digit());
        (word.len() == 4).then(|| word.parse().ok()).flatten().filter(|y| (1000..=2100).contains(y))
    };
    let words: Vec<&str> = text.split_whitespace().collect();
    let plausible = |a: i32, b: i32| (a <= b).then_some((a, b));
    for (i, word) in words.iter().enumerate() {
        // "1600-1650", "1600–1650", "1600..1650" in one word.
        for separator in ["..", "-", "–", "—"] {
            if let Some((a, b)) = word.split_once(separator) {
                if let (Some(a), Some(b)) = (year(a), year(b)) {
                    return plausible(a, b);
                }
            }
        }
        // "1600 to 1650", "1600 and 1650" (after "between"), "1600 - 1650".
        if let (Some(a), Some(link), Some(b)) = (year(word), words.get(i + 1), words.get(i + 2)) {
            if matches!(link.to_lowercase().as_str(), "to" | "and" | "-" | "–" | "until" | "till") {
                if let Some(b) = year(b) {
                    return plausible(a, b);
                }
            }
        }
    }
    None
}

/// Filters sent as JSON (`{"source": "Tate", "year": "1600..1650"}`) go through [`Filters::set`], exactly
/// as query-string and command-line ones do: the same fields, normalisation and errors.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "std::collections::BTreeMap<String, Option<FilterValue>>")]
pub struct Filters {
    /// Exact source name: "semart", "tate", "rijks", ...
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Exact object type, case-insensitive: "painting", "on paper, print", "foto".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub object_type: Option<String>,
    /// Every word must appear in one of the record's maker names, case- and accent-insensitive: "turner".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub maker: Option<String>,
    /// The record's year range must overlap [year_from, year_to]; records without a year never match.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub year_from: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub year_to: Option<i32>,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum FilterError {
    #[error("filter {0:?} is not of the form field=value")]
    Syntax(String),
    #[error("unknown filter field {0:?}; known: source, object_type, maker, year (e.g. year=1800..1850), year_from, year_to")]
    UnknownField(String),
    #[error("filter {field}={value:?}: {why}")]
    Value { field: String, value: String, why: String },
}

/// A filter's value in JSON: text, or a number (a year).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum FilterValue {
    Text(String),
    Number(i64),
}

impl TryFrom<std::collections::BTreeMap<String, Option<FilterValue>>> for Filters {
    type Error = FilterError;

    fn try_from(fields: std::collections::BTreeMap<String, Option<FilterValue>>) -> Result<Filters, FilterError> {
        let mut filters = Filters::default();
        // null means not given. "year" goes first, so that a year_from or year_to given with it wins.
        let mut fields: Vec<(String, FilterValue)> = fields.into_iter().filter_map(|(k, v)| Some((k, v?))).collect();
        fields.sort_by_key(|(field, _)| field != "year");
        for (field, value) in fields {
            let value = match value {
                FilterValue::Text(text) => text,
                FilterValue::Number(n) => n.to_string(),
            };
            filters.set(&field, value.trim())?;
        }
        Ok(filters)
    }
}

impl Filters {
    pub fn is_empty(&self) -> bool {
        *self == Filters::default()
    }

    /// Parses `field=value` pairs as given on the command line or in a query string.
    pub fn parse<'a>(pairs: impl IntoIterator<Item = &'a str>) -> Result<Filters, FilterError> {
        let mut filters = Filters::default();
        for pair in pairs {
            let (field, value) = pair.split_once('=').ok_or_else(|| FilterError::Syntax(pair.to_string()))?;
            filters.set(field.trim(), value.trim())?;
        }
        Ok(filters)
    }

    pub fn set(&mut self, field: &str, value: &str) -> Result<(), FilterError> {
        let bad = |why: &str| FilterError::Value { field: field.into(), value: value.into(), why: why.into() };
        let year = |v: &str| v.trim().parse::<i32>().map_err(|_| bad("expected a year, or a range written 1600..1650"));
        if value.is_empty() {
            return Err(bad("empty value"));
        }
        match field {
            "source" => self.source = Some(value.to_lowercase()),
            "object_type" | "type" => self.object_type = Some(value.to_lowercase()),
            "maker" => {
                if words(value).is_empty() {
                    return Err(bad("no word to match"));
                }
                self.maker = Some(value.to_string())
            }
            "year_from" => self.year_from = Some(year(value)?),
            "year_to" => self.year_to = Some(year(value)?),
            "year" => match value.split_once("..") {
                Some((a, b)) => {
                    self.year_from = if a.is_empty() { None } else { Some(year(a)?) };
                    self.year_to = if b.is_empty() { None } else { Some(year(b)?) };
                }
                None => {
                    let y = year(value)?;
                    self.year_from = Some(y);
                    self.year_to = Some(y);
                }
            },
            other => return Err(FilterError::UnknownField(other.to_string())),
        }
        if let (Some(a), Some(b)) = (self.year_from, self.year_to) {
            if a > b {
                return Err(bad("the range ends before it starts"));
            }
        }
        Ok(())
    }

    pub fn matches(&self, record: &MuseumRecord) -> bool {
        if let Some(source) = &self.source {
            if record.source != *source {
                return false;
            }
        }
        if let Some(kind) = &self.object_type {
            if record.object_type.as_deref().map(str::to_lowercase).as_deref() != Some(kind.as_str()) {
                return false;
            }
        }
        if let Some(maker) = &self.maker {
            let wanted = words(maker);
            let have: Vec<String> = record.makers.iter().flat_map(|m| words(m)).collect();
            if !wanted.iter().all(|w| have.contains(w)) {
                return false;
            }
        }
        if self.year_from.is_some() || self.year_to.is_some() {
            let (Some(start), Some(end)) = (record.year_start, record.year_end) else { return false };
            if self.year_to.is_some_and(|to| start > to) || self.year_from.is_some_and(|from| end < from) {
                return false;
            }
        }
        true
    }
}

/// Lower-case, accent-folded alphanumeric words: the same split the text index uses for its maker field.
pub fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| fold_accents(&w.to_lowercase()))
        .collect()
}

fn fold_accents(word: &str) -> String {
    word.chars()
        .map(|c| match c {
            'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' => 'a',
            'è' | 'é' | 'ê' | 'ë' => 'e',
            'ì' | 'í' | 'î' | 'ï' => 'i',
            'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' => 'o',
            'ù' | 'ú' | 'û' | 'ü' => 'u',
            'ý' | 'ÿ' => 'y',
            'ç' => 'c',
            'ñ' => 'n',
            other => other,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_year_range_in_a_query_is_read() {
        for (text, want) in [
            ("portraits of Dutch merchants 1600-1650", Some((1600, 1650))),
            ("paintings between 1600 and 1650", Some((1600, 1650))),
            ("from 1800 to 1850, landscapes", Some((1800, 1850))),
            ("works of 1600–1650?", Some((1600, 1650))),
            ("1650-1600", None),
            ("room 101-102", None),
            ("a painting of 1642", None),
            ("SK-A-1600", None),
        ] {
            assert_eq!(years_in_text(text), want, "{text}");
        }
    }

    #[test]
    fn filters_sent_as_json_are_validated_as_query_strings_are() {
        // Regression: {"source": "Tate"} matched nothing (not lower-cased), an inverted year range was
        // accepted, and "year": "1600..1650" was refused where ?year=1600..1650 works.
        let json: Filters = serde_json::from_str(r#"{"source": "Tate", "year": "1600..1650", "maker": null}"#).unwrap();
        assert_eq!(json, Filters::parse(["source=Tate", "year=1600..1650"]).unwrap());
        assert_eq!(json.source.as_deref(), Some("tate"));
        let numbers: Filters = serde_json::from_str(r#"{"year_from": 1600, "year_to": 1650}"#).unwrap();
        assert_eq!((numbers.year_from, numbers.year_to), (Some(1600), Some(1650)));
        for bad in [r#"{"year_from": 1700, "year_to": 1600}"#, r#"{"colour": "red"}"#, r#"{"source": ""}"#, r#"{"year": "1600-1650"}"#] {
            assert!(serde_json::from_str::<Filters>(bad).is_err(), "{bad} was accepted");
        }
        let round_trip: Filters = serde_json::from_str(&serde_json::to_string(&json).unwrap()).unwrap();
        assert_eq!(round_trip, json);
    }

    fn record() -> MuseumRecord {
        MuseumRecord {
            id: "tate:N1".into(),
            source: "tate".into(),
            title: "t".into(),
            makers: vec!["Joseph Mallord William Turner".into()],
            object_type: Some("Painting".into()),
            year_start: Some(1830),
            year_end: Some(1835),
            ..Default::default()
        }
    }

    #[test]
    fn parse_and_match() {
        let f = Filters::parse(["source=tate", "maker=turner", "year=1834..1900", "type=painting"]).unwrap();
        assert!(f.matches(&record()));
        assert!(!Filters::parse(["year=..1829"]).unwrap().matches(&record()));
        assert!(!Filters::parse(["maker=girtin"]).unwrap().matches(&record()));
        assert!(!Filters::parse(["source=semart"]).unwrap().matches(&record()));
    }

    #[test]
    fn a_record_without_years_never_matches_a_year_filter() {
        let mut r = record();
        r.year_start = None;
        r.year_end = None;
        assert!(!Filters::parse(["year_from=1000"]).unwrap().matches(&r));
    }

    #[test]
    fn bad_filters_name_the_problem() {
        assert_eq!(Filters::parse(["colour=red"]), Err(FilterError::UnknownField("colour".into())));
        assert!(matches!(Filters::parse(["year=abc"]), Err(FilterError::Value { .. })));
        assert!(matches!(Filters::parse(["year=1900..1800"]), Err(FilterError::Value { .. })));
        assert!(matches!(Filters::parse(["maker"]), Err(FilterError::Syntax(_))));
    }
}
