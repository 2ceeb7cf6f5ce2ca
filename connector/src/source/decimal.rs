//! Decimal text (what MySQL, SQLite and the drivers' text forms return) as Arrow's
//! unscaled integers.

/// Parses decimal text (`-12.5`) as an unscaled value at `scale`, rounding half up.
pub fn parse_decimal(text: &str, precision: u8, scale: i8) -> Result<i128, String> {
    let bad = || format!("\"{text}\" does not fit decimal({precision},{scale})");
    let (negative, digits) = match text.trim().strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.trim().trim_start_matches('+')),
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    if int.is_empty() && frac.is_empty()
        || !int.chars().chain(frac.chars()).all(|c| c.is_ascii_digit())
    {
        return Err(bad());
    }
    let scale_u = scale.max(0) as usize;
    let mut value: i128 = 0;
    for c in int
        .chars()
        .chain(frac.chars().chain(std::iter::repeat('0')).take(scale_u))
    {
        value = value
            .checked_mul(10)
            .and_then(|v| v.checked_add(i128::from(c as u8 - b'0')))
            .ok_or_else(bad)?;
    }
    if frac.len() > scale_u && frac.as_bytes()[scale_u] >= b'5' {
        value = value.checked_add(1).ok_or_else(bad)?;
    }
    // 10^precision overflows beyond 38 digits, where i128 itself is the bound.
    if 10u128
        .checked_pow(u32::from(precision))
        .is_some_and(|limit| value.unsigned_abs() >= limit)
    {
        return Err(bad());
    }
    Ok(if negative { -value } else { value })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_text_at_and_beyond_i128_is_an_error_not_an_overflow() {
        let max = i128::MAX.to_string();
        assert_eq!(parse_decimal(&max, 60, 0), Ok(i128::MAX));
        assert!(
            parse_decimal(&format!("{max}.9"), 60, 0).is_err(),
            "rounding up overflows"
        );
        assert!(parse_decimal(&format!("{max}0"), 60, 0).is_err());
        assert_eq!(parse_decimal("12.345", 5, 2), Ok(1235));
        assert!(parse_decimal("1234.5", 5, 2).is_err());
    }

    #[test]
    fn decimal_text_parses_exactly() {
        assert_eq!(parse_decimal("-12.345", 10, 2), Ok(-1235));
        assert_eq!(
            parse_decimal("99999999999999999999999999999999999999", 38, 0),
            Ok(99999999999999999999999999999999999999)
        );
        assert!(parse_decimal("100", 2, 0).is_err());
        assert!(parse_decimal("1e5", 10, 0).is_err());
        assert_eq!(parse_decimal("0.5", 3, 0), Ok(1));
    }
}
