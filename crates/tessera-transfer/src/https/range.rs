//! The `Range` header (RFC 9110 §14): one byte range of a file, or the whole file.

/// What a `Range` header asks of a file of `size` bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wanted {
    /// No range, an unknown unit, several ranges or a header that does not parse: the whole
    /// file with 200 (RFC 9110 §14.2 lets a server ignore a Range it does not support).
    Whole,
    /// Bytes `start..=end`, answered with 206.
    Part { start: u64, end: u64 },
    /// A well-formed single range that selects nothing of this file: 416.
    Unsatisfiable,
}

/// Parses `bytes=a-b`, `bytes=a-` and `bytes=-n` against a file of `size` bytes.
pub fn parse(header: Option<&str>, size: u64) -> Wanted {
    let Some(value) = header else {
        return Wanted::Whole;
    };
    let Some((unit, set)) = value.trim().split_once('=') else {
        return Wanted::Whole;
    };
    if !unit.trim().eq_ignore_ascii_case("bytes") || set.contains(',') {
        return Wanted::Whole;
    }
    let Some((first, last)) = set.trim().split_once('-') else {
        return Wanted::Whole;
    };
    let number = |s: &str| -> Option<u64> {
        let s = s.trim();
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        // Digits beyond u64: larger than any file, so "to the end" for a last position.
        Some(s.parse().unwrap_or(u64::MAX))
    };
    match (first.trim().is_empty(), last.trim().is_empty()) {
        // bytes=-n: the last n bytes.
        (true, false) => match number(last) {
            Some(0) => Wanted::Unsatisfiable,
            Some(_) if size == 0 => Wanted::Unsatisfiable,
            Some(n) => Wanted::Part {
                start: size.saturating_sub(n),
                end: size - 1,
            },
            None => Wanted::Whole,
        },
        // bytes=a-
        (false, true) => match number(first) {
            Some(a) if a < size => Wanted::Part {
                start: a,
                end: size - 1,
            },
            Some(_) => Wanted::Unsatisfiable,
            None => Wanted::Whole,
        },
        // bytes=a-b
        (false, false) => match (number(first), number(last)) {
            (Some(a), Some(b)) if a > b => Wanted::Whole,
            (Some(a), Some(_)) if a >= size => Wanted::Unsatisfiable,
            (Some(a), Some(b)) => Wanted::Part {
                start: a,
                end: b.min(size - 1),
            },
            _ => Wanted::Whole,
        },
        (true, true) => Wanted::Whole,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_ranges_of_every_form_and_the_ones_ignored_or_refused() {
        let part = |start, end| Wanted::Part { start, end };
        let cases: &[(Option<&str>, u64, Wanted)] = &[
            (None, 10, Wanted::Whole),
            (Some("bytes=0-0"), 10, part(0, 0)),
            (Some("bytes=2-5"), 10, part(2, 5)),
            (Some("bytes=2-500"), 10, part(2, 9)),
            (Some("bytes=2-99999999999999999999999"), 10, part(2, 9)),
            (Some("bytes=7-"), 10, part(7, 9)),
            (Some("bytes=-3"), 10, part(7, 9)),
            (Some("bytes=-30"), 10, part(0, 9)),
            (Some("BYTES = 1-2"), 10, part(1, 2)),
            (Some("bytes=10-"), 10, Wanted::Unsatisfiable),
            (Some("bytes=10-20"), 10, Wanted::Unsatisfiable),
            (Some("bytes=-0"), 10, Wanted::Unsatisfiable),
            (Some("bytes=-5"), 0, Wanted::Unsatisfiable),
            (Some("bytes=0-"), 0, Wanted::Unsatisfiable),
            (Some("bytes=5-2"), 10, Wanted::Whole),
            (Some("bytes=0-1,3-4"), 10, Wanted::Whole),
            (Some("items=0-1"), 10, Wanted::Whole),
            (Some("bytes=x-1"), 10, Wanted::Whole),
            (Some("bytes=-"), 10, Wanted::Whole),
            (Some("bytes=+1-2"), 10, Wanted::Whole),
            (Some("bytes"), 10, Wanted::Whole),
        ];
        for (header, size, want) in cases {
            assert_eq!(parse(*header, *size), *want, "{header:?} of {size}");
        }
    }
}
