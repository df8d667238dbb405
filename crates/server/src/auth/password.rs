//! Room passwords: argon2id hashes in the configuration, never the passwords.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;

/// An argon2id hash (PHC string, default parameters: 19 MiB, 2 passes) of `password`,
/// with a random salt, for `confab hash-password`.
pub fn hash(password: &str) -> String {
    let bytes = crate::random::bytes::<16>();
    let salt = SaltString::encode_b64(&bytes).expect("16 bytes is a valid salt length");
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .expect("argon2 with default parameters cannot fail on a short input")
        .to_string()
}

/// Whether `password` matches `phc` (a hash from [`hash`], or any argon2 PHC string).
/// Deliberately slow (tens of milliseconds): call it off the async workers.
pub fn verify(phc: &str, password: &str) -> bool {
    PasswordHash::new(phc)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_its_password_only() {
        let h = hash("correct horse");
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(verify(&h, "correct horse"));
        assert!(!verify(&h, "correct horsE"));
        assert!(!verify(&h, ""));
        assert_ne!(h, hash("correct horse"), "salted");
        assert!(!verify("not a hash", "x"));
    }
}
