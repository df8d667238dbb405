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

/// [`verify`], with argon2's memory (19 MiB at the default parameters) in `blocks`,
/// which the caller keeps from one check to the next (grown when a hash needs more).
/// Allocated and freed on every check, that memory came back from the allocator as
/// 19 MiB blocks glibc no longer returned to the system (its mmap threshold adapts to
/// the first block freed): 20 checks took a server from 15 MiB to 368 MiB for good.
pub fn verify_with_memory(phc: &str, password: &str, blocks: &mut Vec<argon2::Block>) -> bool {
    let Ok(h) = PasswordHash::new(phc) else {
        return false;
    };
    let (Some(expected), Some(salt)) = (h.hash, h.salt) else {
        return false;
    };
    let Ok(algorithm) = argon2::Algorithm::try_from(h.algorithm) else {
        return false;
    };
    let Ok(version) = h.version.map(argon2::Version::try_from).transpose() else {
        return false;
    };
    let Ok(params) = argon2::Params::try_from(&h) else {
        return false;
    };
    let mut salt_buf = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_buf) else {
        return false;
    };
    let need = params.block_count();
    if blocks.len() < need {
        blocks.resize(need, argon2::Block::default());
    }
    let mut out = vec![0u8; expected.len()];
    let argon = Argon2::new(algorithm, version.unwrap_or_default(), params);
    if argon
        .hash_password_into_with_memory(password.as_bytes(), salt, &mut out, &mut blocks[..need])
        .is_err()
    {
        return false;
    }
    aws_lc_rs::constant_time::verify_slices_are_equal(&out, expected.as_bytes()).is_ok()
}

#[cfg(test)]
mod tests {
    #[test]
    fn verifying_with_kept_memory_agrees_with_verify() {
        let h = super::hash("correct horse");
        let mut blocks = Vec::new();
        for (pw, want) in [
            ("correct horse", true),
            ("wrong", false),
            ("correct horse", true),
        ] {
            assert_eq!(super::verify_with_memory(&h, pw, &mut blocks), want, "{pw}");
            assert_eq!(super::verify(&h, pw), want, "{pw}");
        }
        assert_eq!(blocks.len(), 19 * 1024, "19 MiB of 1 KiB blocks, kept");
        assert!(!super::verify_with_memory("not a hash", "x", &mut blocks));
    }

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
