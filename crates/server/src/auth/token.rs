//! Join tokens: JWTs (HS256 with the server's token key, or EdDSA verified with an
//! Ed25519 public key) that let an application's backend decide who enters which room,
//! under which name and role, until when.
//!
//! What a token must satisfy to be accepted ([`Verifier::verify`]):
//! - signed by one of our keys, with the algorithm that key is for (never `none`);
//! - no `crit` header: it names extensions the signer says must be understood, and
//!   this server understands none (RFC 7515 §4.1.11);
//! - `exp` present and not passed, `nbf` (if present) reached, both with [`LEEWAY`] of
//!   clock skew;
//! - valid for at most [`TokenRules::max_lifetime`]: from now to `exp`, and from its
//!   `iat` or `nbf` (if present) to `exp`, so neither a leaked token nor one minted to
//!   last "forever" (`exp` of u64::MAX) outlives the operator's bound;
//! - with [`TokenRules::audience`] / [`TokenRules::issuer`] configured, an `aud` that
//!   includes it and an `iss` equal to it; without an audience, a token that carries an
//!   `aud` is refused (it was meant for someone else).

use serde::{Deserialize, Serialize};
use std::time::Duration;

/// What a participant may do in a room: the protocol's one role type, carried in
/// tokens under the same names as on the wire.
pub use confab_proto::Role;

/// Clock skew allowed on `exp` and `nbf`, in seconds.
pub const LEEWAY: u64 = 60;

/// The longest subject (`sub`) accepted, in bytes: it is kept per room (bans) and
/// stored with the room's moderation.
pub const MAX_SUBJECT: usize = 256;

/// The claims of a join token.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The room it admits to.
    pub room: String,
    /// The display name the holder appears under.
    pub name: String,
    /// The holder's role (default guest).
    #[serde(default)]
    pub role: Role,
    /// Expiry, seconds since the Unix epoch.
    pub exp: u64,
    /// Issue time, seconds since the Unix epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<u64>,
    /// Not before, seconds since the Unix epoch: refused until then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<u64>,
    /// Whom the token names (the application's user id). A host's kick bans this in the
    /// room; without it, the name stands for the holder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    /// Who issued it (checked against `--token-issuer` when that is set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    /// For whom it is meant (checked against `--token-audience`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aud: Option<Audience>,
}

/// A token's `aud`: one string or several (RFC 7519 §4.1.3).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Audience {
    /// One audience.
    One(String),
    /// Several.
    Many(Vec<String>),
}

/// The server's own rules for tokens, beyond a valid signature (see the module docs).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenRules {
    /// The longest a token may be valid (`--token-max-lifetime`).
    pub max_lifetime: Duration,
    /// The `aud` a token must include (`--token-audience`).
    pub audience: Option<String>,
    /// The `iss` a token must have (`--token-issuer`).
    pub issuer: Option<String>,
}

impl Default for TokenRules {
    /// A week, no audience, no issuer: the defaults of `confab serve`.
    fn default() -> Self {
        TokenRules {
            max_lifetime: Duration::from_secs(7 * 86_400),
            audience: None,
            issuer: None,
        }
    }
}

/// Why a token was refused; its `Display` is the sentence the person gets.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// Not a JWT, or its claims have the wrong shape.
    #[error("the token is not valid ({0})")]
    Malformed(String),
    /// Signed with an algorithm no configured key is for.
    #[error("tokens signed with {0} are not accepted here")]
    Algorithm(String),
    /// The signature does not verify with our key.
    #[error("the token's signature is not valid")]
    Signature,
    /// `exp` has passed.
    #[error("the token has expired")]
    Expired,
    /// `nbf` is still in the future.
    #[error("the token is not valid yet (its nbf is in the future)")]
    NotYetValid,
    /// The header has `crit`.
    #[error("the token has a crit header naming extensions this server does not support")]
    Critical,
    /// Valid for longer than the server accepts.
    #[error("the token is valid for too long ({lifetime} s; this server accepts at most {max} s)")]
    TooLong {
        /// Seconds it would be valid for.
        lifetime: u64,
        /// The most accepted.
        max: u64,
    },
    /// `aud` missing or not ours (or present while we expect none).
    #[error("the token is not meant for this server (its aud)")]
    Audience,
    /// `iss` missing or not the configured issuer.
    #[error("the token is not from the expected issuer (its iss)")]
    Issuer,
    /// `sub` is longer than [`MAX_SUBJECT`].
    #[error("the token's sub is longer than {MAX_SUBJECT} bytes")]
    Subject,
}

/// Signs `claims` with the HS256 `key`.
pub fn mint(key: &str, claims: &Claims) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        claims,
        &jsonwebtoken::EncodingKey::from_secret(key.as_bytes()),
    )
    .expect("HS256 signing of plain claims cannot fail")
}

/// The keys that verify tokens, and the rules they must meet. Holds no secret in
/// `Debug`.
#[derive(Clone)]
pub struct Verifier {
    hs256: Option<jsonwebtoken::DecodingKey>,
    eddsa: Option<jsonwebtoken::DecodingKey>,
    rules: TokenRules,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("hs256", &self.hs256.is_some())
            .field("eddsa", &self.eddsa.is_some())
            .field("rules", &self.rules)
            .finish()
    }
}

impl Verifier {
    /// From the HS256 secret and/or an Ed25519 public key in PEM, with `rules`.
    pub fn new(
        hs256_key: Option<&str>,
        ed25519_pem: Option<&[u8]>,
        rules: TokenRules,
    ) -> Result<Verifier, String> {
        let eddsa = ed25519_pem
            .map(jsonwebtoken::DecodingKey::from_ed_pem)
            .transpose()
            .map_err(|e| format!("token public key: {e}"))?;
        Ok(Verifier {
            hs256: hs256_key.map(|k| jsonwebtoken::DecodingKey::from_secret(k.as_bytes())),
            eddsa,
            rules,
        })
    }

    /// Whether any key is configured.
    pub fn is_configured(&self) -> bool {
        self.hs256.is_some() || self.eddsa.is_some()
    }

    /// The claims of `token` if it meets every rule of the module docs at `now`
    /// (seconds since the Unix epoch; `exp` and `nbf` are checked against the system
    /// clock by the JWT library, with the same [`LEEWAY`]).
    pub fn verify(&self, token: &str, now: u64) -> Result<Claims, TokenError> {
        use jsonwebtoken::errors::ErrorKind;
        let header = jsonwebtoken::decode_header(token)
            .map_err(|e| TokenError::Malformed(format!("malformed: {e}")))?;
        let key = match header.alg {
            jsonwebtoken::Algorithm::HS256 => self.hs256.as_ref(),
            jsonwebtoken::Algorithm::EdDSA => self.eddsa.as_ref(),
            _ => None,
        }
        .ok_or_else(|| TokenError::Algorithm(format!("{:?}", header.alg)))?;
        if header.crit.is_some() {
            return Err(TokenError::Critical);
        }
        let mut v = jsonwebtoken::Validation::new(header.alg);
        v.leeway = LEEWAY;
        v.validate_nbf = true;
        let mut required = vec!["exp"];
        if let Some(aud) = &self.rules.audience {
            v.set_audience(&[aud]);
            required.push("aud");
        }
        if let Some(iss) = &self.rules.issuer {
            v.set_issuer(&[iss]);
            required.push("iss");
        }
        v.set_required_spec_claims(&required);
        let claims = jsonwebtoken::decode::<Claims>(token, key, &v)
            .map(|d| d.claims)
            .map_err(|e| match e.kind() {
                ErrorKind::ExpiredSignature => TokenError::Expired,
                ErrorKind::ImmatureSignature => TokenError::NotYetValid,
                ErrorKind::InvalidSignature => TokenError::Signature,
                ErrorKind::InvalidAudience => TokenError::Audience,
                ErrorKind::InvalidIssuer => TokenError::Issuer,
                ErrorKind::MissingRequiredClaim(c) if c == "aud" => TokenError::Audience,
                ErrorKind::MissingRequiredClaim(c) if c == "iss" => TokenError::Issuer,
                _ => TokenError::Malformed(e.to_string()),
            })?;
        self.check_lifetime(&claims, now)?;
        if claims.sub.as_ref().is_some_and(|s| s.len() > MAX_SUBJECT) {
            return Err(TokenError::Subject);
        }
        Ok(claims)
    }

    /// `exp` at most `max_lifetime` (plus the leeway) after now, and after the token's
    /// start (`iat`, or a later `nbf`) if it names one.
    fn check_lifetime(&self, claims: &Claims, now: u64) -> Result<(), TokenError> {
        let max = self.rules.max_lifetime.as_secs();
        let start = claims.iat.max(claims.nbf).unwrap_or(now).min(now);
        let lifetime = claims.exp.saturating_sub(start);
        if lifetime > max.saturating_add(LEEWAY) {
            return Err(TokenError::TooLong { lifetime, max });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "0123456789abcdef0123456789abcdef";

    fn claims(exp: u64) -> Claims {
        Claims {
            room: "standup".into(),
            name: "Ada".into(),
            role: Role::Host,
            exp,
            ..Claims::default()
        }
    }

    fn now() -> u64 {
        crate::unix_now()
    }

    fn verifier() -> Verifier {
        Verifier::new(Some(KEY), None, TokenRules::default()).unwrap()
    }

    fn b64(s: &str) -> String {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s)
    }

    /// A token with this header, signed with [`KEY`].
    fn with_header(header: &str, claims: &Claims) -> String {
        use aws_lc_rs::hmac;
        let signing_input = format!(
            "{}.{}",
            b64(header),
            b64(&serde_json::to_string(claims).unwrap())
        );
        let key = hmac::Key::new(hmac::HMAC_SHA256, KEY.as_bytes());
        let tag = hmac::sign(&key, signing_input.as_bytes());
        use base64::Engine;
        let sig = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(tag.as_ref());
        format!("{signing_input}.{sig}")
    }

    #[test]
    fn a_minted_token_verifies_with_its_claims() {
        let c = Claims {
            iat: Some(now()),
            sub: Some("user-7".into()),
            ..claims(now() + 3600)
        };
        assert_eq!(verifier().verify(&mint(KEY, &c), now()).unwrap(), c);
    }

    #[test]
    fn wrong_key_expired_garbage_and_alg_none_are_refused() {
        let v = verifier();
        let other = mint(
            "another key of at least 32 characters!",
            &claims(now() + 60),
        );
        assert_eq!(v.verify(&other, now()), Err(TokenError::Signature));
        let old = mint(KEY, &claims(now() - 3600));
        assert_eq!(v.verify(&old, now()), Err(TokenError::Expired));
        assert!(v.verify("not.a.token", now()).is_err());
        // An unsigned token ("alg":"none") with valid-looking claims.
        let none = format!(
            "{}.{}.",
            b64(r#"{"alg":"none","typ":"JWT"}"#),
            b64(&serde_json::to_string(&claims(now() + 60)).unwrap())
        );
        assert!(v.verify(&none, now()).is_err());
        // A token without exp.
        let no_exp = jsonwebtoken::encode(
            &jsonwebtoken::Header::default(),
            &serde_json::json!({"room":"standup","name":"Ada"}),
            &jsonwebtoken::EncodingKey::from_secret(KEY.as_bytes()),
        )
        .unwrap();
        assert!(v.verify(&no_exp, now()).is_err());
    }

    #[test]
    fn without_an_hs256_key_hs256_tokens_are_refused() {
        let v = Verifier::new(None, None, TokenRules::default()).unwrap();
        assert!(!v.is_configured());
        assert!(v.verify(&mint(KEY, &claims(now() + 60)), now()).is_err());
    }

    /// Issue 12 item 19: `nbf` was ignored.
    #[test]
    fn a_token_whose_nbf_is_in_the_future_is_refused_within_the_leeway_it_is_not() {
        let v = verifier();
        let later = Claims {
            nbf: Some(now() + 3600),
            ..claims(now() + 7200)
        };
        assert_eq!(
            v.verify(&mint(KEY, &later), now()),
            Err(TokenError::NotYetValid)
        );
        let skewed = Claims {
            nbf: Some(now() + 30),
            ..claims(now() + 7200)
        };
        assert!(v.verify(&mint(KEY, &skewed), now()).is_ok());
        let past = Claims {
            nbf: Some(now() - 30),
            ..claims(now() + 7200)
        };
        assert!(v.verify(&mint(KEY, &past), now()).is_ok());
    }

    /// Issue 12 item 19: `crit` was ignored.
    #[test]
    fn a_token_with_a_crit_header_is_refused() {
        let v = verifier();
        let c = claims(now() + 600);
        let plain = with_header(r#"{"alg":"HS256","typ":"JWT"}"#, &c);
        assert!(
            v.verify(&plain, now()).is_ok(),
            "the hand-made token is sound"
        );
        let crit = with_header(r#"{"alg":"HS256","typ":"JWT","crit":["exp"]}"#, &c);
        assert_eq!(v.verify(&crit, now()), Err(TokenError::Critical));
        let empty = with_header(r#"{"alg":"HS256","crit":[]}"#, &c);
        assert_eq!(v.verify(&empty, now()), Err(TokenError::Critical));
    }

    /// Issue 12 item 19: `exp` of u64::MAX was accepted, and lifetimes had no cap.
    #[test]
    fn a_token_valid_for_longer_than_the_cap_is_refused() {
        let v = verifier();
        let week = 7 * 86_400;
        let forever = claims(u64::MAX);
        assert!(matches!(
            v.verify(&mint(KEY, &forever), now()),
            Err(TokenError::TooLong { max, .. }) if max == week
        ));
        // Exactly the cap is fine; a day more is not.
        assert!(v.verify(&mint(KEY, &claims(now() + week)), now()).is_ok());
        let long = claims(now() + week + 86_400);
        assert!(matches!(
            v.verify(&mint(KEY, &long), now()),
            Err(TokenError::TooLong { .. })
        ));
        // Minted 6 days ago for 8 days: two left, but its lifetime is over the cap.
        let old = Claims {
            iat: Some(now() - 6 * 86_400),
            ..claims(now() + 2 * 86_400)
        };
        assert!(matches!(
            v.verify(&mint(KEY, &old), now()),
            Err(TokenError::TooLong { lifetime, .. }) if lifetime == 8 * 86_400
        ));
        // An iat in the future does not stretch the cap.
        let ahead = Claims {
            iat: Some(now() + 30 * 86_400),
            ..claims(now() + 31 * 86_400)
        };
        assert!(v.verify(&mint(KEY, &ahead), now()).is_err());
        // The cap is the operator's.
        let hour = TokenRules {
            max_lifetime: Duration::from_secs(3600),
            ..TokenRules::default()
        };
        let v = Verifier::new(Some(KEY), None, hour).unwrap();
        assert!(v.verify(&mint(KEY, &claims(now() + 7200)), now()).is_err());
        assert!(v.verify(&mint(KEY, &claims(now() + 1800)), now()).is_ok());
    }

    /// Issue 12 item 19: no audience or issuer check.
    #[test]
    fn audience_and_issuer_are_checked_when_configured() {
        let rules = TokenRules {
            audience: Some("confab.example.org".into()),
            issuer: Some("https://app.example.org".into()),
            ..TokenRules::default()
        };
        let v = Verifier::new(Some(KEY), None, rules).unwrap();
        let good = Claims {
            aud: Some(Audience::One("confab.example.org".into())),
            iss: Some("https://app.example.org".into()),
            ..claims(now() + 600)
        };
        assert!(v.verify(&mint(KEY, &good), now()).is_ok());
        let many = Claims {
            aud: Some(Audience::Many(vec![
                "other".into(),
                "confab.example.org".into(),
            ])),
            ..good.clone()
        };
        assert!(v.verify(&mint(KEY, &many), now()).is_ok());
        for (bad, why) in [
            (
                Claims {
                    aud: None,
                    ..good.clone()
                },
                TokenError::Audience,
            ),
            (
                Claims {
                    aud: Some(Audience::One("elsewhere".into())),
                    ..good.clone()
                },
                TokenError::Audience,
            ),
            (
                Claims {
                    iss: None,
                    ..good.clone()
                },
                TokenError::Issuer,
            ),
            (
                Claims {
                    iss: Some("https://evil.example".into()),
                    ..good.clone()
                },
                TokenError::Issuer,
            ),
        ] {
            assert_eq!(v.verify(&mint(KEY, &bad), now()), Err(why), "{bad:?}");
        }
        // Without configured ones: any iss passes, an aud means "not for us".
        let open = verifier();
        let iss = Claims {
            aud: None,
            ..good.clone()
        };
        assert!(open.verify(&mint(KEY, &iss), now()).is_ok());
        assert_eq!(
            open.verify(&mint(KEY, &good), now()),
            Err(TokenError::Audience)
        );
    }

    #[test]
    fn an_overlong_subject_is_refused() {
        let c = Claims {
            sub: Some("x".repeat(MAX_SUBJECT + 1)),
            ..claims(now() + 600)
        };
        assert_eq!(
            verifier().verify(&mint(KEY, &c), now()),
            Err(TokenError::Subject)
        );
    }
}
