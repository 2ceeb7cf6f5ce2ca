//! Database passwords from the operating system's CSPRNG, meeting every engine's policy.
//!
//! 30 characters (Oracle's limit), starting with a letter (Oracle), with upper and lower
//! case letters, digits and symbols (SQL Server's complexity rule, MySQL's
//! validate_password MEDIUM policy). The symbols exclude quotes, backslash, `@`, `/`, `:`,
//! `%` and `$`, which break connection strings or need escaping somewhere.

use rand::rngs::OsRng;
use rand::TryRngCore;

const LOWER: &[u8] = b"abcdefghijklmnopqrstuvwxyz";
const UPPER: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const DIGITS: &[u8] = b"0123456789";
const SYMBOLS: &[u8] = b"#*!-_=+.,~^";
pub const LENGTH: usize = 30;

#[derive(Debug, thiserror::Error, PartialEq)]
#[error("the operating system's random number generator failed: {0}")]
pub struct RandomError(String);

/// A uniformly random index below `n` (rejection sampling: no modulo bias).
fn below(n: usize) -> Result<usize, RandomError> {
    let zone = u32::MAX - (u32::MAX % n as u32);
    loop {
        let v = OsRng
            .try_next_u32()
            .map_err(|e| RandomError(e.to_string()))?;
        if v < zone {
            return Ok((v % n as u32) as usize);
        }
    }
}

fn pick(set: &[u8]) -> Result<u8, RandomError> {
    Ok(set[below(set.len())?])
}

/// A fresh password.
pub fn generate() -> Result<String, RandomError> {
    let all: Vec<u8> = [LOWER, UPPER, DIGITS, SYMBOLS].concat();
    let mut chars = vec![pick(LOWER)?, pick(UPPER)?, pick(DIGITS)?, pick(SYMBOLS)?];
    while chars.len() < LENGTH - 1 {
        chars.push(pick(&all)?);
    }
    // Fisher-Yates, then a letter in front.
    for i in (1..chars.len()).rev() {
        chars.swap(i, below(i + 1)?);
    }
    chars.insert(0, pick(&[LOWER, UPPER].concat())?);
    Ok(String::from_utf8(chars).expect("ASCII"))
}

/// A fresh random salt for a password verifier.
pub fn salt() -> Result<[u8; 16], RandomError> {
    let mut salt = [0u8; 16];
    OsRng
        .try_fill_bytes(&mut salt)
        .map_err(|e| RandomError(e.to_string()))?;
    Ok(salt)
}

/// Whether `p` meets the policy above (used by the tests and as a guard).
pub fn meets_policy(p: &str) -> bool {
    let b = p.as_bytes();
    b.len() == LENGTH
        && b[0].is_ascii_alphabetic()
        && b.iter().any(|c| LOWER.contains(c))
        && b.iter().any(|c| UPPER.contains(c))
        && b.iter().any(|c| DIGITS.contains(c))
        && b.iter().any(|c| SYMBOLS.contains(c))
        && b.iter().all(|c| {
            LOWER.contains(c) || UPPER.contains(c) || DIGITS.contains(c) || SYMBOLS.contains(c)
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn ten_thousand_passwords_meet_every_policy_and_are_distinct() {
        let mut seen = HashSet::new();
        let mut first = HashSet::new();
        for _ in 0..10_000 {
            let p = generate().unwrap();
            assert!(meets_policy(&p), "{p}");
            first.insert(p.as_bytes()[0]);
            assert!(seen.insert(p));
        }
        assert!(first.len() > 40, "the first letter varies");
    }
}
