//! Password verifiers computed here, so the plain password never appears in a statement
//! the server may log (PostgreSQL logs a failing statement's text by default, and RDS ships
//! that log to CloudWatch).

use aws_lc_rs::{digest, hmac, pbkdf2};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;

/// PostgreSQL's default SCRAM iteration count (`scram_iterations`).
const SCRAM_ITERATIONS: u32 = 4096;

/// The SCRAM-SHA-256 verifier PostgreSQL stores for `password` (RFC 5802/7677):
/// `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`. PostgreSQL takes a string in
/// this form as the verifier itself. Generated passwords are ASCII, which SASLprep leaves as
/// it is.
pub fn scram_sha256(password: &str, salt: &[u8]) -> String {
    let mut salted = [0u8; 32];
    pbkdf2::derive(
        pbkdf2::PBKDF2_HMAC_SHA256,
        std::num::NonZeroU32::new(SCRAM_ITERATIONS).expect("non-zero"),
        salt,
        password.as_bytes(),
        &mut salted,
    );
    let key = hmac::Key::new(hmac::HMAC_SHA256, &salted);
    let client_key = hmac::sign(&key, b"Client Key");
    let server_key = hmac::sign(&key, b"Server Key");
    let stored_key = digest::digest(&digest::SHA256, client_key.as_ref());
    format!(
        "SCRAM-SHA-256${SCRAM_ITERATIONS}:{}${}:{}",
        STANDARD.encode(salt),
        STANDARD.encode(stored_key.as_ref()),
        STANDARD.encode(server_key.as_ref())
    )
}

/// The `mysql_native_password` hash (`*` and the upper-case hex of SHA1(SHA1(password))),
/// which MariaDB takes as `IDENTIFIED BY PASSWORD '<hash>'`.
pub fn mysql_native(password: &str) -> String {
    let once = digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, password.as_bytes());
    let twice = digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, once.as_ref());
    let hex: String = twice.as_ref().iter().map(|b| format!("{b:02X}")).collect();
    format!("*{hex}")
}

/// SQL Server's stored form (2012 and later): `0x0200`, a 4-byte salt, then
/// SHA-512(UTF-16LE(password) ‖ salt), for `CREATE LOGIN … WITH PASSWORD = 0x… HASHED`.
pub fn sql_server(password: &str, salt: &[u8]) -> String {
    let mut input: Vec<u8> = password.encode_utf16().flat_map(u16::to_le_bytes).collect();
    input.extend_from_slice(salt);
    let hash = digest::digest(&digest::SHA512, &input);
    let hex: String = salt
        .iter()
        .chain(hash.as_ref())
        .map(|b| format!("{b:02X}"))
        .collect();
    format!("0x0200{hex}")
}

#[cfg(test)]
mod tests {
    use super::*;

    // Expected values computed independently with Python's hashlib and hmac.
    #[test]
    fn scram_verifier_matches_an_independent_computation() {
        let salt: Vec<u8> = (0..16).collect();
        assert_eq!(
            scram_sha256("pencil", &salt),
            "SCRAM-SHA-256$4096:AAECAwQFBgcICQoLDA0ODw==$zHCdol2044/ZyWzPLi7oxApCkamKw9Z+E4U/QApd/5Y=:dd5peBOitVnLNFu7VmwP+HiDaaw4OUCv396eVCWhYiE="
        );
    }

    #[test]
    fn sql_server_hash_matches_an_independent_computation() {
        assert_eq!(
            sql_server("pencil", &[1, 2, 3, 4]),
            "0x020001020304A0E0007A5282C5DA829DFCD1F3DBCB5B74FDD1FBC95F686AD218AC8B28610284BE871D70E53E1FCBE7FCFCD32B60BFF67D6B5AF60943324DD3EEC9A5B7B2CA26"
        );
    }

    #[test]
    fn mysql_native_hash_matches_an_independent_computation() {
        assert_eq!(
            mysql_native("pencil"),
            "*7614BE58636C810A9D8970A50B3B2A78450413E4"
        );
    }
}
