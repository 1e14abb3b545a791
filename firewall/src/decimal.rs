//! The slice of Python's `decimal.Decimal` that the reference's `amount`
//! constraint uses: construction from `str(value)`, exact comparison, and
//! `format(value, 'g')` for reason strings. Amounts are compared exactly, as
//! decimals, never through binary floating point.

use std::cmp::Ordering;

use delego_spec::text::python_strip;

/// A decimal number as Python's `Decimal` parses it from text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PyDecimal {
    Finite {
        negative: bool,
        /// Coefficient digits, ASCII, no leading zeros (a lone "0" for zero).
        digits: String,
        exponent: i64,
    },
    /// Infinity, NaN or sNaN: valid decimals, but not finite amounts.
    NonFinite,
}

/// The zero of every run of Unicode decimal digits (category Nd) in the
/// Unicode 14 database CPython 3.11 uses; each run is ten code points, zero
/// to nine. Python's `Decimal` reads all of them as digits.
const DIGIT_ZEROS: [u32; 66] = [
    0x30, 0x660, 0x6F0, 0x7C0, 0x966, 0x9E6, 0xA66, 0xAE6, 0xB66, 0xBE6, 0xC66, 0xCE6, 0xD66,
    0xDE6, 0xE50, 0xED0, 0xF20, 0x1040, 0x1090, 0x17E0, 0x1810, 0x1946, 0x19D0, 0x1A80, 0x1A90,
    0x1B50, 0x1BB0, 0x1C40, 0x1C50, 0xA620, 0xA8D0, 0xA900, 0xA9D0, 0xA9F0, 0xAA50, 0xABF0, 0xFF10,
    0x104A0, 0x10D30, 0x11066, 0x110F0, 0x11136, 0x111D0, 0x112F0, 0x11450, 0x114D0, 0x11650,
    0x116C0, 0x11730, 0x118E0, 0x11950, 0x11C50, 0x11D50, 0x11DA0, 0x16A60, 0x16AC0, 0x16B50,
    0x1D7CE, 0x1D7D8, 0x1D7E2, 0x1D7EC, 0x1D7F6, 0x1E140, 0x1E2F0, 0x1E950, 0x1FBF0,
];

/// A Unicode decimal digit as its ASCII digit; other characters unchanged.
fn ascii_digit(c: char) -> char {
    let code = c as u32;
    if c.is_ascii() {
        return c;
    }
    // The last run starting at or below `code`.
    let index = DIGIT_ZEROS.partition_point(|zero| *zero <= code);
    match index.checked_sub(1).map(|i| DIGIT_ZEROS[i]) {
        Some(zero) if code - zero < 10 => char::from(b'0' + (code - zero) as u8),
        _ => c,
    }
}

/// Exponents beyond this are refused rather than risking overflow.
const MAX_EXPONENT: i128 = 999_999_999_999_999_999;

impl PyDecimal {
    /// `Decimal(text)`: surrounding whitespace stripped, underscores ignored,
    /// an optional sign, digits with an optional point, an optional exponent;
    /// or Infinity/NaN spellings. `None` where Python raises.
    pub fn parse(text: &str) -> Option<PyDecimal> {
        let cleaned: String = python_strip(text)
            .chars()
            .filter(|c| *c != '_')
            .map(ascii_digit)
            .collect();
        let (negative, body) = match cleaned.as_bytes().first() {
            Some(b'-') => (true, &cleaned[1..]),
            Some(b'+') => (false, &cleaned[1..]),
            _ => (false, cleaned.as_str()),
        };
        let lower = body.to_ascii_lowercase();
        if matches!(lower.as_str(), "inf" | "infinity") {
            return Some(PyDecimal::NonFinite);
        }
        let nan_payload = lower
            .strip_prefix("snan")
            .or_else(|| lower.strip_prefix("nan"));
        if let Some(payload) = nan_payload {
            return payload
                .bytes()
                .all(|b| b.is_ascii_digit())
                .then_some(PyDecimal::NonFinite);
        }
        let (mantissa, exponent) = match body.find(['e', 'E']) {
            Some(at) => (&body[..at], Some(&body[at + 1..])),
            None => (body, None),
        };
        let (int_part, frac_part) = mantissa.split_once('.').unwrap_or((mantissa, ""));
        if int_part.is_empty() && frac_part.is_empty() {
            return None;
        }
        if !int_part
            .bytes()
            .chain(frac_part.bytes())
            .all(|b| b.is_ascii_digit())
        {
            return None;
        }
        let mut exp: i128 = match exponent {
            None => 0,
            Some(text) => {
                let digits = text.strip_prefix(['+', '-']).unwrap_or(text);
                if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                    return None;
                }
                text.parse::<i128>().ok()?
            }
        };
        exp -= i128::try_from(frac_part.len()).ok()?;
        if exp.abs() > MAX_EXPONENT {
            return None;
        }
        let all_digits = format!("{int_part}{frac_part}");
        let trimmed = all_digits.trim_start_matches('0');
        Some(PyDecimal::Finite {
            negative,
            digits: if trimmed.is_empty() {
                "0".to_owned()
            } else {
                trimmed.to_owned()
            },
            exponent: i64::try_from(exp).ok()?,
        })
    }

    pub fn is_finite(&self) -> bool {
        matches!(self, PyDecimal::Finite { .. })
    }

    fn is_zero(&self) -> bool {
        matches!(self, PyDecimal::Finite { digits, .. } if digits == "0")
    }

    /// Whether the value is below zero (`-0` is not).
    pub fn is_negative(&self) -> bool {
        matches!(self, PyDecimal::Finite { negative: true, .. }) && !self.is_zero()
    }

    /// Exact numeric comparison of two finite decimals (`None` otherwise).
    pub fn compare(&self, other: &PyDecimal) -> Option<Ordering> {
        let sign = |d: &PyDecimal| -> Option<i8> {
            match d {
                PyDecimal::NonFinite => None,
                _ if d.is_zero() => Some(0),
                PyDecimal::Finite { negative: true, .. } => Some(-1),
                PyDecimal::Finite { .. } => Some(1),
            }
        };
        let (a, b) = (sign(self)?, sign(other)?);
        if a != b || a == 0 {
            return Some(a.cmp(&b));
        }
        let magnitude = magnitude_cmp(self, other)?;
        Some(if a < 0 {
            magnitude.reverse()
        } else {
            magnitude
        })
    }

    /// Python's `format(decimal, 'g')` (no precision given).
    pub fn format_g(&self) -> String {
        let PyDecimal::Finite {
            negative,
            digits,
            exponent,
        } = self
        else {
            return "NaN".to_owned();
        };
        let len = digits.len() as i64;
        let left_digits = exponent + len;
        let dot = if *exponent <= 0 && left_digits > -6 {
            left_digits
        } else {
            1
        };
        let (int_part, frac_part) = if dot < 0 {
            (
                "0".to_owned(),
                format!("{}{digits}", "0".repeat((-dot) as usize)),
            )
        } else if dot > len {
            (
                format!("{digits}{}", "0".repeat((dot - len) as usize)),
                String::new(),
            )
        } else {
            let (head, tail) = digits.split_at(dot as usize);
            (
                if head.is_empty() {
                    "0".to_owned()
                } else {
                    head.to_owned()
                },
                tail.to_owned(),
            )
        };
        let shown_exponent = left_digits - dot;
        let mut out = String::new();
        if *negative {
            out.push('-');
        }
        out.push_str(&int_part);
        if !frac_part.is_empty() {
            out.push('.');
            out.push_str(&frac_part);
        }
        if shown_exponent != 0 {
            out.push_str(&format!("e{shown_exponent:+}"));
        }
        out
    }
}

/// Compares |a| and |b| for non-zero finite decimals.
fn magnitude_cmp(a: &PyDecimal, b: &PyDecimal) -> Option<Ordering> {
    let (
        PyDecimal::Finite {
            digits: da,
            exponent: ea,
            ..
        },
        PyDecimal::Finite {
            digits: db,
            exponent: eb,
            ..
        },
    ) = (a, b)
    else {
        return None;
    };
    // Adjusted exponent: the power of ten of the leading digit.
    let adjusted_a = i128::from(*ea) + da.len() as i128;
    let adjusted_b = i128::from(*eb) + db.len() as i128;
    if adjusted_a != adjusted_b {
        return Some(adjusted_a.cmp(&adjusted_b));
    }
    let (ta, tb) = (da.trim_end_matches('0'), db.trim_end_matches('0'));
    Some(ta.cmp(tb))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(text: &str) -> String {
        PyDecimal::parse(text).unwrap().format_g()
    }

    #[test]
    fn parses_like_python() {
        assert_eq!(g("1__0"), "10");
        assert_eq!(g(" 12 "), "12");
        assert_eq!(g("1e5"), "1e+5");
        assert_eq!(g("+5"), "5");
        assert_eq!(g(".5"), "0.5");
        assert_eq!(g("5."), "5");
        assert_eq!(g("-0"), "-0");
        assert_eq!(g("1.5e-7"), "1.5e-7");
        assert_eq!(g("2400.0"), "2400.0");
        assert_eq!(g("0.00001"), "0.00001");
        assert_eq!(g("1e-7"), "1e-7");
        assert_eq!(g("0e5"), "0e+5");
        assert_eq!(g("-0.0"), "-0.0");
        assert_eq!(g("1.0E+3"), "1.0e+3");
        assert_eq!(
            g("123456789012345678901234567890E+5"),
            "1.23456789012345678901234567890e+34"
        );
        assert_eq!(g("0E-10"), "0e-10");
        assert_eq!(g("1234.5E-12"), "1.2345e-9");
        assert_eq!(g("-.5e-3"), "-0.0005");
        assert_eq!(g("٣"), "3");
        assert_eq!(g("１e٢"), "1e+2");
        assert_eq!(g("1٣.٥"), "13.5");
        for bad in ["0x10", "1 0", "1e", "e5", "_", "", "abc", "1e1.5", "½"] {
            assert_eq!(PyDecimal::parse(bad), None, "{bad}");
        }
        for special in ["Infinity", "-inf", "nan", "sNaN", "NaN12"] {
            assert_eq!(
                PyDecimal::parse(special),
                Some(PyDecimal::NonFinite),
                "{special}"
            );
        }
    }

    #[test]
    fn compares_exactly() {
        let d = |t: &str| PyDecimal::parse(t).unwrap();
        assert_eq!(d("5000").compare(&d("5000.000")), Some(Ordering::Equal));
        assert_eq!(
            d("5000.0000001").compare(&d("5000")),
            Some(Ordering::Greater)
        );
        assert_eq!(d("-1").compare(&d("0")), Some(Ordering::Less));
        assert_eq!(d("-2").compare(&d("-10")), Some(Ordering::Greater));
        assert_eq!(d("1e3").compare(&d("999.9")), Some(Ordering::Greater));
        assert_eq!(d("0.1").compare(&d("1e-1")), Some(Ordering::Equal));
        assert!(!d("-0").is_negative());
        assert!(d("-0.1").is_negative());
    }
}
