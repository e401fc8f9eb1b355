//! Museum dates are free text ("c. 1594", "1630s", "c.1830-5", "16th century", "date not known").
//! Filters need numbers: this turns the text into an inclusive year range, or nothing when it holds no year.

/// The inclusive range of years a date text covers, or `None` when it names no year.
pub fn year_range(text: &str) -> Option<(i32, i32)> {
    let lower = text.to_lowercase();
    if let Some(range) = century(&lower) {
        return Some(range);
    }
    let years = four_digit_years(&lower);
    let (first_pos, first) = *years.first()?;
    let mut end = years.last().map(|&(_, y)| y).unwrap_or(first);
    let after_first = &lower[first_pos + 4..];
    if years.len() == 1 {
        if after_first.starts_with('s') {
            // "1630s": the decade.
            end = first + 9;
        } else if let Some(short) = abbreviated_end(after_first) {
            // "1830-5", "1610-15": the end year shortened to its last digits.
            end = short_end(first, short);
        }
    }
    Some((first.min(end), first.max(end)))
}

fn century(text: &str) -> Option<(i32, i32)> {
    let at = text.find("century")?;
    let before = text[..at].trim_end();
    let word = before.rsplit(|c: char| c.is_whitespace() || c == '-').next()?;
    let digits: String = word.chars().take_while(|c| c.is_ascii_digit()).collect();
    let n: i32 = digits.parse().ok()?;
    if !(1..=21).contains(&n) || four_digit_years(text).first().is_some() {
        return None;
    }
    Some(((n - 1) * 100, (n - 1) * 100 + 99))
}

/// Positions and values of the standalone four-digit numbers between 1000 and 2099.
fn four_digit_years(text: &str) -> Vec<(usize, i32)> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i + 4 <= bytes.len() {
        let window = &bytes[i..i + 4];
        let bounded_left = i == 0 || !bytes[i - 1].is_ascii_digit();
        let bounded_right = i + 4 == bytes.len() || !bytes[i + 4].is_ascii_digit();
        if window.iter().all(u8::is_ascii_digit) && bounded_left && bounded_right {
            let value: i32 = std::str::from_utf8(window).ok().and_then(|s| s.parse().ok()).unwrap_or(0);
            if (1000..2100).contains(&value) {
                out.push((i, value));
                i += 4;
                continue;
            }
        }
        i += 1;
    }
    out
}

/// "-5" or "–15" right after a year: the digits, if one to three of them.
fn abbreviated_end(after: &str) -> Option<&str> {
    let rest = after.strip_prefix('-').or_else(|| after.strip_prefix('–'))?;
    let digits_len = rest.chars().take_while(char::is_ascii_digit).count();
    // "1802-05-14" is a calendar date, not a range.
    let is_calendar_date = rest[digits_len..].starts_with('-');
    ((1..=3).contains(&digits_len) && !is_calendar_date).then(|| &rest[..digits_len])
}

fn short_end(first: i32, short: &str) -> i32 {
    let scale = 10_i32.pow(short.len() as u32);
    let value: i32 = short.parse().unwrap_or(0);
    let candidate = first - first % scale + value;
    if candidate < first {
        candidate + scale
    } else {
        candidate
    }
}

#[cfg(test)]
mod tests {
    use super::year_range;

    #[test]
    fn museum_date_texts_become_year_ranges() {
        let cases = [
            ("c. 1594", Some((1594, 1594))),
            ("1515", Some((1515, 1515))),
            ("1630s", Some((1630, 1639))),
            ("c.1830-5", Some((1830, 1835))),
            ("1610-15", Some((1610, 1615))),
            ("1598-1602", Some((1598, 1602))),
            ("1899-02", Some((1899, 1902))),
            ("1802-05-14", Some((1802, 1802))),
            ("16th century", Some((1500, 1599))),
            ("early 17th century", Some((1600, 1699))),
            ("date not known", None),
            ("exhibited 1807", Some((1807, 1807))),
            ("", None),
            ("no. 12345", None),
        ];
        for (text, want) in cases {
            assert_eq!(year_range(text), want, "{text}");
        }
    }
}
