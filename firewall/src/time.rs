//! Receipt timestamps as the reference writes them: Python's
//! `datetime.now(timezone.utc).isoformat()`, i.e.
//! `YYYY-MM-DDTHH:MM:SS[.ffffff]+00:00` (microseconds omitted when zero), and
//! the parsing needed to place a receipt in a rate-limit window.

const MICROS_PER_SECOND: i64 = 1_000_000;
const SECONDS_PER_DAY: i64 = 86_400;

/// Days since 1970-01-01 → (year, month, day), proleptic Gregorian.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// (year, month, day) → days since 1970-01-01.
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Formats Unix microseconds as Python's UTC `isoformat()`.
pub fn format_utc(micros: i64) -> String {
    let seconds = micros.div_euclid(MICROS_PER_SECOND);
    let fraction = micros.rem_euclid(MICROS_PER_SECOND);
    let (year, month, day) = civil_from_days(seconds.div_euclid(SECONDS_PER_DAY));
    let of_day = seconds.rem_euclid(SECONDS_PER_DAY);
    let (h, m, s) = (of_day / 3600, of_day % 3600 / 60, of_day % 60);
    if fraction == 0 {
        format!("{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}+00:00")
    } else {
        format!("{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}.{fraction:06}+00:00")
    }
}

/// Parses the timestamps receipts carry (`YYYY-MM-DD[T ]HH:MM[:SS[.f{1,6}]]`
/// with `Z`, `±HH:MM` or no offset, read as UTC) into Unix microseconds.
pub fn parse_iso(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    let num = |range: std::ops::Range<usize>| -> Option<i64> {
        let part = text.get(range)?;
        part.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| part.parse().ok())?
    };
    if b.len() < 16
        || b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b' ')
        || b[13] != b':'
    {
        return None;
    }
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute) = (num(11..13)?, num(14..16)?);
    let mut pos = 16;
    let mut second = 0;
    let mut micros = 0;
    if b.get(pos) == Some(&b':') {
        second = num(pos + 1..pos + 3)?;
        pos += 3;
        if b.get(pos) == Some(&b'.') {
            let digits = b[pos + 1..]
                .iter()
                .take_while(|c| c.is_ascii_digit())
                .count();
            if !(1..=6).contains(&digits) {
                return None;
            }
            let frac = num(pos + 1..pos + 1 + digits)?;
            micros = frac * 10_i64.pow(6 - digits as u32);
            pos += 1 + digits;
        }
    }
    let offset_seconds = match &text[pos..] {
        "" | "Z" => 0,
        tail => {
            let sign = match tail.as_bytes()[0] {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            if tail.len() != 6 || tail.as_bytes()[3] != b':' {
                return None;
            }
            sign * (num(pos + 1..pos + 3)? * 3600 + num(pos + 4..pos + 6)? * 60)
        }
    };
    let valid = (1..=12).contains(&month)
        && (1..=31).contains(&day)
        && hour < 24
        && minute < 60
        && second < 60;
    if !valid {
        return None;
    }
    let days = days_from_civil(year, month as u32, day as u32);
    let seconds = days * SECONDS_PER_DAY + hour * 3600 + minute * 60 + second - offset_seconds;
    Some(seconds * MICROS_PER_SECOND + micros)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_python_isoformat() {
        // datetime.fromtimestamp(1780503716.02309, timezone.utc).isoformat()
        assert_eq!(
            format_utc(1_780_503_716_023_090),
            "2026-06-03T16:21:56.023090+00:00"
        );
        assert_eq!(format_utc(0), "1970-01-01T00:00:00+00:00");
        assert_eq!(
            format_utc(951_782_400_000_001),
            "2000-02-29T00:00:00.000001+00:00"
        );
    }

    #[test]
    fn parses_what_it_formats_and_offsets() {
        for micros in [
            0,
            1_780_503_716_023_090,
            951_782_400_000_001,
            4_102_444_799_999_999,
        ] {
            assert_eq!(parse_iso(&format_utc(micros)), Some(micros));
        }
        assert_eq!(
            parse_iso("2026-06-03T18:21:56.5+02:00"),
            parse_iso("2026-06-03T16:21:56.500000Z")
        );
        assert_eq!(parse_iso("2026-13-01T00:00:00+00:00"), None);
        assert_eq!(parse_iso("garbage"), None);
    }
}
