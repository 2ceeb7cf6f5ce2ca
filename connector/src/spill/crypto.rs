//! AES-GCM over spilled blocks, exactly as the Java SDK's `AesGcmBlockCrypto` does it: the
//! split's key (16 or 32 bytes) and 12-byte nonce, a 128-bit tag appended, no associated data.
//!
//! Every block of a split reuses the split's key and nonce. That is a weakness of the
//! protocol, reproduced because Athena decrypts with exactly that key and nonce.

use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_128_GCM, AES_256_GCM};

use crate::protocol::EncryptionKey;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum CryptoError {
    #[error("spill encryption key must be 16 or 32 bytes, found {0}")]
    KeyLength(usize),
    #[error("spill encryption nonce must be 12 bytes, found {0}")]
    NonceLength(usize),
    #[error("spilled block failed AES-GCM authentication (wrong key, or corrupted object)")]
    Authentication,
}

/// The AES-GCM tag sealing appends to a block.
pub const TAG_BYTES: usize = 16;

/// A split's cipher, ready to seal or open its blocks. AWS-LC (already linked for TLS) does
/// the work: assembly AES-GCM, as fast in a debug build as in a release one.
pub struct BlockCrypto {
    key: LessSafeKey,
    nonce: [u8; 12],
}

impl BlockCrypto {
    pub fn new(key: &EncryptionKey) -> Result<BlockCrypto, CryptoError> {
        let nonce: [u8; 12] = key
            .nonce
            .as_slice()
            .try_into()
            .map_err(|_| CryptoError::NonceLength(key.nonce.len()))?;
        let algorithm = match key.key.len() {
            16 => &AES_128_GCM,
            32 => &AES_256_GCM,
            n => return Err(CryptoError::KeyLength(n)),
        };
        let unbound = UnboundKey::new(algorithm, &key.key)
            .map_err(|_| CryptoError::KeyLength(key.key.len()))?;
        Ok(BlockCrypto {
            key: LessSafeKey::new(unbound),
            nonce,
        })
    }

    /// Ciphertext followed by the 16-byte tag.
    pub fn encrypt(&self, plaintext: &[u8]) -> Vec<u8> {
        self.seal(plaintext.to_vec())
    }

    /// Encrypts `block` in place (no copy of the block), appending the tag.
    pub fn seal(&self, mut block: Vec<u8>) -> Vec<u8> {
        // The protocol reuses the split's nonce for each of its blocks (see above).
        let nonce = Nonce::assume_unique_for_key(self.nonce);
        // Sealing fails only for inputs beyond AES-GCM's 64 GiB limit, far above any block.
        self.key
            .seal_in_place_append_tag(nonce, Aad::empty(), &mut block)
            .expect("AES-GCM seals any block smaller than 64 GiB");
        block
    }

    pub fn decrypt(&self, sealed: &[u8]) -> Result<Vec<u8>, CryptoError> {
        self.open(sealed.to_vec())
    }

    /// Decrypts `block` in place (no copy of the block), dropping the tag.
    pub fn open(&self, mut block: Vec<u8>) -> Result<Vec<u8>, CryptoError> {
        let nonce = Nonce::assume_unique_for_key(self.nonce);
        let plain_len = self
            .key
            .open_in_place(nonce, Aad::empty(), &mut block)
            .map_err(|_| CryptoError::Authentication)?
            .len();
        block.truncate(plain_len);
        Ok(block)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(len: usize) -> EncryptionKey {
        EncryptionKey {
            key: (0..len as u8).collect(),
            nonce: b"defghijklmno".to_vec(),
        }
    }

    #[test]
    fn seals_and_opens_with_both_key_sizes() {
        for len in [16, 32] {
            let c = BlockCrypto::new(&key(len)).unwrap();
            let sealed = c.encrypt(b"arrow block");
            assert_eq!(sealed.len(), b"arrow block".len() + TAG_BYTES);
            assert_eq!(c.decrypt(&sealed).unwrap(), b"arrow block");
        }
    }

    #[test]
    fn tampering_and_bad_keys_are_errors() {
        let c = BlockCrypto::new(&key(32)).unwrap();
        let mut sealed = c.encrypt(b"arrow block");
        sealed[0] ^= 1;
        assert_eq!(c.decrypt(&sealed), Err(CryptoError::Authentication));
        assert_eq!(
            BlockCrypto::new(&key(24)).err(),
            Some(CryptoError::KeyLength(24))
        );
        let mut k = key(16);
        k.nonce.pop();
        assert_eq!(
            BlockCrypto::new(&k).err(),
            Some(CryptoError::NonceLength(11))
        );
    }

    /// Own vector, computed once with Python's `cryptography` (AESGCM(key).encrypt(nonce, b"athena", None)).
    #[test]
    fn matches_an_independent_implementation() {
        let c = BlockCrypto::new(&key(32)).unwrap();
        let hex: String = c
            .encrypt(b"athena")
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(hex, EXPECTED_ATHENA_HEX);
    }

    const EXPECTED_ATHENA_HEX: &str = "296fb6031788e6b429f5086d748e91801371e5044840";
}
