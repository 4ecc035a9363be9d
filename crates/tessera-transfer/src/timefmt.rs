//! Time as the Transfer API writes and reads it (spec §1.7), on Unix seconds.

use tessera_core::clock::UnixTime;

/// Days since 1970-01-01 to (year, month, day) (H. Hinnant's civil_from_days).
fn civil(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// (year, month, day) to days since 1970-01-01.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn format(t: UnixTime, sep: char) -> String {
    let (days, secs) = (t.div_euclid(86_400), t.rem_euclid(86_400));
    let (y, m, d) = civil(days);
    format!(
        "{y:04}-{m:02}-{d:02}{sep}{:02}:{:02}:{:02}+00:00",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// Task and event times: `2021-09-02T18:04:47+00:00`.
pub fn iso(t: UnixTime) -> String {
    format(t, 'T')
}

/// File times: `2023-12-18 16:52:50+00:00`.
pub fn spaced(t: UnixTime) -> String {
    format(t, ' ')
}

/// Reads a date or date-time the way clients send them: date only, `T` or space, optional
/// fraction, optional `Z` or offset; naive means UTC.
pub fn parse(s: &str) -> Option<UnixTime> {
    let s = s.trim();
    let num = |t: &str| -> Option<i64> {
        if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        t.parse().ok()
    };
    let (date, rest) = match s.find(['T', 't', ' ']) {
        Some(i) => (&s[..i], s[i + 1..].trim()),
        None => (s, ""),
    };
    let mut parts = date.split('-');
    let (y, m, d) = (
        num(parts.next()?)?,
        num(parts.next()?)?,
        num(parts.next()?)?,
    );
    // Four-digit years only (ISO 8601 without expansion): a longer one would overflow the
    // seconds, and no client means it.
    if parts.next().is_some()
        || !(0..=9999).contains(&y)
        || !(1..=12).contains(&m)
        || !(1..=31).contains(&d)
    {
        return None;
    }
    let days = days_from_civil(y, m, d);
    // A day past its month's end (2024-02-30, 2023-02-29, 2030-04-31) would roll into the next
    // month: refused, not reinterpreted.
    if civil(days) != (y, m, d) {
        return None;
    }
    let mut seconds = days * 86_400;
    if rest.is_empty() {
        return Some(seconds);
    }
    let (clock, offset) = if let Some(r) = rest.strip_suffix(['Z', 'z']) {
        (r, 0)
    } else if let Some(i) = rest.rfind(['+', '-']) {
        let (sign, off) = (if &rest[i..=i] == "-" { -1 } else { 1 }, &rest[i + 1..]);
        let mut o = off.split(':');
        let (h, mi) = (num(o.next()?)?, o.next().map_or(Some(0), num)?);
        if h > 23 || mi > 59 {
            return None;
        }
        (&rest[..i], sign * (h * 3600 + mi * 60))
    } else {
        (rest, 0)
    };
    let clock = clock.split('.').next()?;
    let mut c = clock.split(':');
    let h = num(c.next()?)?;
    let mi = c.next().map_or(Some(0), num)?;
    let se = c.next().map_or(Some(0), num)?;
    if h > 23 || mi > 59 || se > 60 {
        return None;
    }
    seconds += h * 3600 + mi * 60 + se - offset;
    Some(seconds)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_both_shapes() {
        assert_eq!(iso(1_630_605_887), "2021-09-02T18:04:47+00:00");
        assert_eq!(spaced(0), "1970-01-01 00:00:00+00:00");
    }

    #[test]
    fn parses_what_clients_send() {
        let t = 1_893_456_000; // 2030-01-01T00:00:00Z
        for s in [
            "2030-01-01",
            "2030-01-01 00:00:00",
            "2030-01-01T00:00:00Z",
            "2030-01-01 00:00:00+00:00",
            "2030-01-01T01:00:00.123+01:00",
        ] {
            assert_eq!(parse(s), Some(t), "{s}");
        }
        // The last day of each month, leap days included, is accepted.
        assert_eq!(parse("2024-02-29"), Some(1_709_164_800));
        assert_eq!(parse("2000-02-29"), Some(951_782_400));
        assert!(parse("2030-12-31").is_some());
        for s in [
            "",
            "soon",
            "2030-13-01",
            "2030-01-01T25:00",
            "2030-01",
            // Would overflow the seconds (a panic in debug builds, a wrapped time in release).
            "9999999999999-01-01",
            "2030-01-01T00:00:00+99999999999999",
            "2030-01-01T00:00:00-24:00",
            // Days that do not exist.
            "2024-02-30",
            "2023-02-29",
            "1900-02-29",
            "2030-04-31",
            "2030-06-31T00:00:00Z",
        ] {
            assert_eq!(parse(s), None, "{s}");
        }
    }
}
