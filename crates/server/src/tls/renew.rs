//! When to ask the CA for a certificate: pure functions of the certificate's validity,
//! the time and the failures so far, so the policy is tested without a clock or a CA.
//!
//! A certificate is renewed once two thirds of its lifetime have passed (Let's Encrypt's
//! advice: a 90-day certificate renews with 30 days left, time for many retries). A
//! failed attempt is retried with exponential backoff, from [`FIRST_RETRY`] up to
//! [`MAX_RETRY`]; the certificate in force keeps being served meanwhile.

use std::time::{Duration, SystemTime};

/// The first retry after a failed attempt.
pub const FIRST_RETRY: Duration = Duration::from_secs(10);
/// The longest wait between two failed attempts.
pub const MAX_RETRY: Duration = Duration::from_secs(3600);

/// A certificate's validity window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Validity {
    /// Not valid before this time.
    pub not_before: SystemTime,
    /// Not valid after this time.
    pub not_after: SystemTime,
}

impl Validity {
    /// Reads the validity of a DER certificate.
    pub fn of_der(der: &[u8]) -> Result<Validity, String> {
        let (_, cert) = x509_parser::parse_x509_certificate(der)
            .map_err(|e| format!("cannot parse the certificate: {e}"))?;
        let v = cert.validity();
        let at = |secs: i64| {
            u64::try_from(secs)
                .map(|s| SystemTime::UNIX_EPOCH + Duration::from_secs(s))
                .map_err(|_| "certificate dates before 1970".to_string())
        };
        Ok(Validity {
            not_before: at(v.not_before.timestamp())?,
            not_after: at(v.not_after.timestamp())?,
        })
    }

    /// The time two thirds of the lifetime have passed: when to renew.
    pub fn renew_at(&self) -> SystemTime {
        let life = self
            .not_after
            .duration_since(self.not_before)
            .unwrap_or_default();
        self.not_before + life * 2 / 3
    }

    /// Whether the certificate can still be served at `now`.
    pub fn usable_at(&self, now: SystemTime) -> bool {
        self.not_before <= now && now < self.not_after
    }
}

/// The wait before the next attempt after `failures` failed ones in a row (`0`: none).
pub fn retry_delay(failures: u32) -> Duration {
    match failures {
        0 => Duration::ZERO,
        n => FIRST_RETRY
            .saturating_mul(1u32.checked_shl(n - 1).unwrap_or(u32::MAX))
            .min(MAX_RETRY),
    }
}

/// When to next ask the CA, given the certificate in force (`None`: none from this CA
/// yet) and the failures since the last success, the last one at `last_failure`.
///
/// Without a certificate: at once, or after the backoff. With one: at its
/// [`Validity::renew_at`], or after the backoff when attempts since then failed.
pub fn next_attempt(
    cert: Option<&Validity>,
    failures: u32,
    last_failure: Option<SystemTime>,
    now: SystemTime,
) -> SystemTime {
    let due = cert.map_or(now, Validity::renew_at);
    match (failures, last_failure) {
        (0, _) | (_, None) => due,
        (n, Some(at)) => due.max(at + retry_delay(n)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000 + secs)
    }

    #[test]
    fn renews_at_two_thirds_of_the_lifetime() {
        let day = 86_400;
        let v = Validity {
            not_before: t(0),
            not_after: t(90 * day),
        };
        assert_eq!(v.renew_at(), t(60 * day));
        let short = Validity {
            not_before: t(0),
            not_after: t(30),
        };
        assert_eq!(short.renew_at(), t(20));
        assert!(v.usable_at(t(10)) && !v.usable_at(t(90 * day)));
        // A broken window (after before before) renews at once rather than never.
        let broken = Validity {
            not_before: t(10),
            not_after: t(5),
        };
        assert_eq!(broken.renew_at(), t(10));
    }

    #[test]
    fn backoff_doubles_up_to_an_hour() {
        assert_eq!(retry_delay(0), Duration::ZERO);
        assert_eq!(retry_delay(1), Duration::from_secs(10));
        assert_eq!(retry_delay(2), Duration::from_secs(20));
        assert_eq!(retry_delay(4), Duration::from_secs(80));
        assert_eq!(retry_delay(12), MAX_RETRY);
        assert_eq!(retry_delay(40), MAX_RETRY);
        assert_eq!(retry_delay(u32::MAX), MAX_RETRY);
    }

    #[test]
    fn next_attempt_follows_the_certificate_then_the_backoff() {
        let v = Validity {
            not_before: t(0),
            not_after: t(300),
        };
        // No certificate yet: now.
        assert_eq!(next_attempt(None, 0, None, t(5)), t(5));
        // A fresh one: at two thirds.
        assert_eq!(next_attempt(Some(&v), 0, None, t(5)), t(200));
        // Renewal failed twice at 210: 20 s later.
        assert_eq!(next_attempt(Some(&v), 2, Some(t(210)), t(211)), t(230));
        // No certificate, one failure at 7: 10 s later.
        assert_eq!(next_attempt(None, 1, Some(t(7)), t(8)), t(17));
    }

    #[test]
    fn validity_is_read_from_a_certificate() {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let mut p = rcgen::CertificateParams::new(vec!["a.test".to_string()]).unwrap();
        p.not_before = rcgen::date_time_ymd(2030, 1, 1);
        p.not_after = rcgen::date_time_ymd(2030, 1, 31);
        let cert = p.self_signed(&key).unwrap();
        let v = Validity::of_der(cert.der()).unwrap();
        let jan1_2030 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_893_456_000);
        assert_eq!(v.not_before, jan1_2030);
        assert_eq!(v.not_after, jan1_2030 + Duration::from_secs(30 * 86_400));
        assert_eq!(v.renew_at(), jan1_2030 + Duration::from_secs(20 * 86_400));
        assert!(Validity::of_der(b"junk").is_err());
    }
}
