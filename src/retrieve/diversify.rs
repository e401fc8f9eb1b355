//! Series that crowd a result list: Tate holds 40 prints titled "Walking the Dog" by Keith Arnatt, and a
//! query for "dog" would show them one after another. A record whose title and first maker repeat a record
//! ranked above it moves below every record of a new series (in the order it had), so the first page shows
//! as many different works as the candidates hold; nothing is dropped.

use crate::index::Generation;

/// Titles that say the title is unknown: records sharing one are different works, not a series.
const PLACEHOLDER_TITLES: [&str; 5] = ["blank", "untitled", "no title", "title not known", "unknown"];

/// What makes two records one series: their title (lower case, letters and digits only) and first maker.
/// None for a record without a real title.
pub fn series_key(title: &str, makers: &[String]) -> Option<String> {
    let normalise = |text: &str| -> String {
        text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_lowercase).collect::<Vec<_>>().join(" ")
    };
    let title_words = normalise(title);
    if title_words.is_empty() || title.trim_start().starts_with('[') || PLACEHOLDER_TITLES.contains(&title_words.as_str()) {
        return None;
    }
    Some(format!("{title_words}|{}", makers.first().map_or(String::new(), |m| normalise(m))))
}

/// For each of a ranked list's series keys, whether it repeats a key before it.
pub fn repeats(keys: &[Option<String>]) -> Vec<bool> {
    let mut seen = std::collections::HashSet::new();
    keys.iter().map(|key| key.as_deref().is_some_and(|key| !seen.insert(key))).collect()
}

/// `order` with each repeat of a series moved below the first record of every series (stable otherwise).
pub fn one_per_series_first(generation: &Generation, order: Vec<(String, f32)>) -> Vec<(String, f32)> {
    let keys: Vec<Option<String>> = order
        .iter()
        .map(|(id, _)| generation.store.get(id).and_then(|stored| series_key(&stored.record.title, &stored.record.makers)))
        .collect();
    let (mut first, mut later) = (Vec::with_capacity(order.len()), Vec::new());
    for (entry, repeat) in order.into_iter().zip(repeats(&keys)) {
        if repeat { later.push(entry) } else { first.push(entry) }
    }
    first.extend(later);
    first
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_series_is_its_title_and_first_maker_and_unknown_titles_are_none() {
        let arnatt = vec!["Keith Arnatt".to_string()];
        assert_eq!(series_key("Walking the Dog", &arnatt), series_key("walking  the dog.", &arnatt));
        assert_ne!(series_key("Walking the Dog", &arnatt), series_key("Walking the Dog", &["Someone Else".to_string()]));
        assert_eq!(series_key("[title not known]", &arnatt), None);
        assert_eq!(series_key("Blank", &arnatt), None);
        assert_eq!(series_key("", &arnatt), None);
    }
}
