//! Maker names arrive as "GOGH, Vincent van" (SemArt, surname in capitals first). People search for
//! "Vincent van Gogh": this turns the catalogue form into the reading form.

/// "GOGH, Vincent van" -> "Vincent van Gogh"; "CARAVAGGIO" -> "Caravaggio";
/// "UNKNOWN MASTER, Hungarian" -> "Unknown Master, Hungarian". Names already in mixed case are kept.
pub fn reading_order(name: &str) -> String {
    let name = name.trim();
    let (surname, given) = match name.split_once(',') {
        Some((s, g)) => (s.trim(), g.trim()),
        None => (name, ""),
    };
    if !is_shouting(surname) {
        return name.to_string();
    }
    let surname = title_case(surname);
    let anonymous = ["Unknown", "Anonymous", "Master"].iter().any(|w| surname.starts_with(w));
    match (given.is_empty(), anonymous) {
        (true, _) => surname,
        (false, true) => format!("{surname}, {given}"),
        (false, false) => format!("{given} {surname}"),
    }
}

fn is_shouting(s: &str) -> bool {
    s.chars().any(char::is_alphabetic) && !s.chars().any(char::is_lowercase)
}

fn title_case(s: &str) -> String {
    const PARTICLES: [&str; 12] = ["of", "the", "de", "di", "da", "del", "della", "van", "von", "der", "den", "le"];
    s.split(' ')
        .enumerate()
        .map(|(i, word)| {
            let lower = word.to_lowercase();
            if i > 0 && PARTICLES.contains(&lower.as_str()) {
                return lower;
            }
            // Capitalise after hyphens and apostrophes too: "TOULOUSE-LAUTREC", "D'ARPINO".
            let mut out = String::with_capacity(lower.len());
            let mut start = true;
            for c in lower.chars() {
                if start {
                    out.extend(c.to_uppercase());
                } else {
                    out.push(c);
                }
                start = c == '-' || c == '\'' || c == '(';
            }
            out
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::reading_order;

    #[test]
    fn semart_capitals_become_reading_order() {
        assert_eq!(reading_order("GOGH, Vincent van"), "Vincent van Gogh");
        assert_eq!(reading_order("CARAVAGGIO"), "Caravaggio");
        assert_eq!(reading_order("CARPACCIO, Vittore"), "Vittore Carpaccio");
        assert_eq!(reading_order("UNKNOWN MASTER, Hungarian"), "Unknown Master, Hungarian");
        assert_eq!(reading_order("TOULOUSE-LAUTREC, Henri de"), "Henri de Toulouse-Lautrec");
        assert_eq!(reading_order("MASTER OF THE ST. BARTHOLOMEW ALTARPIECE"), "Master of the St. Bartholomew Altarpiece");
        assert_eq!(reading_order("Thomas Girtin"), "Thomas Girtin");
    }
}
