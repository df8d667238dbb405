//! The server's one randomness path: bytes from the OS random source, via aws-lc (the
//! crypto backend everything else already uses). Seeds for the sans-IO cores (the
//! hub's CSPRNG, the TURN core's nonces), salts and generated secrets all come from
//! here, so there is no second, weaker generator to audit.

/// `N` bytes from the OS random source. Panics if it fails: a machine without
/// randomness cannot do TLS either, and running on with guessable secrets (resume
/// tokens, TURN secrets) would be worse than stopping.
pub fn bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    aws_lc_rs::rand::fill(&mut b).expect("the OS random source works");
    b
}

/// `N` random bytes as lowercase hex (2N characters), for generated secrets.
pub fn hex<const N: usize>() -> String {
    bytes::<N>().iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn draws_differ_and_hex_has_the_right_length() {
        assert_ne!(super::bytes::<16>(), super::bytes::<16>());
        let h = super::hex::<24>();
        assert_eq!(h.len(), 48);
        assert!(h.bytes().all(|b| b.is_ascii_hexdigit()));
    }
}
