//! Link tokens: 256 random bits, shown once in a link, stored as a hash.

use sha2::{Digest, Sha256};

/// A new token (64 hex characters) and the hash to store.
pub fn new_token() -> Result<(String, String), getrandom::Error> {
    let token = random_token()?;
    let hash = hash(&token);
    Ok((token, hash))
}

/// A token without its stored form (for one that is never stored, such as
/// a CSRF token).
pub fn random_token() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)?;
    Ok(hex::encode(bytes))
}

/// The stored form of a token. Anything that is not 64 hex characters can
/// not be a token of ours; its hash is still computed so that a forged token
/// takes the same path as an unknown one.
pub fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Whether `token` has the shape of one of ours.
pub fn well_formed(token: &str) -> bool {
    token.len() == 64
        && token
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

/// Compares two secrets in time independent of where they differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    // Hash first: equal lengths, and the length of the secret does not leak.
    let (a, b) = (Sha256::digest(a), Sha256::digest(b));
    a.iter()
        .zip(b.iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_hashed() {
        let (t1, h1) = new_token().unwrap();
        let (t2, _) = new_token().unwrap();
        assert_ne!(t1, t2);
        assert!(well_formed(&t1));
        assert_eq!(hash(&t1), h1);
        assert_ne!(t1, h1);
        assert!(!well_formed("abc"));
        assert!(!well_formed(&t1.to_uppercase()));
    }

    #[test]
    fn constant_time_comparison() {
        assert!(constant_time_eq(b"secret", b"secret"));
        assert!(!constant_time_eq(b"secret", b"secreT"));
        assert!(!constant_time_eq(b"secret", b"secret-longer"));
    }
}
