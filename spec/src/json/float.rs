//! Python's `repr(float)`, which `json.dumps` uses for every float.
//!
//! Both Python and Rust print the shortest digit string that reads back to the
//! same double; they differ only in layout. Python switches to exponent form
//! when the decimal point would sit more than 16 places right of the first
//! digit or 4 or more places left of it, pads the exponent to two digits with
//! an explicit sign, and always shows a fractional part in fixed form.

/// Formats a finite `f64` exactly as Python's `repr()` does.
///
/// Callers pass finite values only ([`super::Float`] guarantees it); for
/// completeness NaN and infinities print as Python would (`nan`, `inf`).
pub fn python_float_repr(value: f64) -> String {
    if value.is_nan() {
        return "nan".to_owned();
    }
    if value.is_infinite() {
        return if value > 0.0 { "inf" } else { "-inf" }.to_owned();
    }
    // `{:e}` yields the shortest round-trip digits, e.g. "-1.5e-5", "0e0",
    // but when several digit strings of that length round-trip it does not
    // always pick the one nearest the exact value, as Python does (ties to
    // even). Exact formatting at that length gives the nearest; keep it when
    // it still reads back to the same double.
    let shortest = format!("{value:e}");
    let digit_count = shortest
        .split('e')
        .next()
        .map_or(1, |m| m.bytes().filter(u8::is_ascii_digit).count());
    let nearest = format!("{value:.*e}", digit_count.saturating_sub(1));
    let sci = if nearest.parse::<f64>() == Ok(value) {
        nearest
    } else {
        shortest
    };
    let (mantissa, exponent) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let (negative, mantissa) = match mantissa.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, mantissa),
    };
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    // Position of the decimal point relative to the first digit.
    let point = exponent + 1;

    let mut out = String::with_capacity(digits.len() + 8);
    if negative {
        out.push('-');
    }
    if point <= -4 || point > 16 {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push('e');
        out.push(if exponent < 0 { '-' } else { '+' });
        let magnitude = exponent.unsigned_abs();
        if magnitude < 10 {
            out.push('0');
        }
        out.push_str(&magnitude.to_string());
    } else if point <= 0 {
        out.push_str("0.");
        for _ in 0..(-point) {
            out.push('0');
        }
        out.push_str(&digits);
    } else {
        let point = point as usize;
        if point >= digits.len() {
            out.push_str(&digits);
            for _ in digits.len()..point {
                out.push('0');
            }
            out.push_str(".0");
        } else {
            out.push_str(&digits[..point]);
            out.push('.');
            out.push_str(&digits[point..]);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::python_float_repr;

    #[test]
    #[allow(clippy::excessive_precision)] // the literals are what Python parses
    fn matches_python_repr_on_layout_boundaries() {
        let cases = [
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (2400.0, "2400.0"),
            (1e16, "1e+16"),
            (1e15, "1000000000000000.0"),
            (9999999999999998.0, "9999999999999998.0"),
            (1e-4, "0.0001"),
            (1e-5, "1e-05"),
            (1.5e-5, "1.5e-05"),
            (1e-7, "1e-07"),
            (0.1, "0.1"),
            (0.30000000000000004, "0.30000000000000004"),
            (1e22, "1e+22"),
            (1e100, "1e+100"),
            (5e-324, "5e-324"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
            (123456789.123456789, "123456789.12345679"),
            (-2.5e-8, "-2.5e-08"),
            (-2099857059292090.25, "-2099857059292090.2"),
        ];
        for (value, expected) in cases {
            assert_eq!(python_float_repr(value), expected, "repr({value:e})");
        }
    }
}
