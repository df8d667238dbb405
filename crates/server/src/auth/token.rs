//! Join tokens: JWTs (HS256 with the server's token key, or EdDSA verified with an
//! Ed25519 public key) that let an application's backend decide who enters which room,
//! under which name and role, until when.

use serde::{Deserialize, Serialize};

/// What a participant may do in a room: the protocol's one role type, carried in
/// tokens under the same names as on the wire.
pub use confab_proto::Role;

/// The claims of a join token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
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

/// The keys that verify tokens. Holds no secret in `Debug`.
#[derive(Clone)]
pub struct Verifier {
    hs256: Option<jsonwebtoken::DecodingKey>,
    eddsa: Option<jsonwebtoken::DecodingKey>,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("hs256", &self.hs256.is_some())
            .field("eddsa", &self.eddsa.is_some())
            .finish()
    }
}

impl Verifier {
    /// From the HS256 secret and/or an Ed25519 public key in PEM.
    pub fn new(hs256_key: Option<&str>, ed25519_pem: Option<&[u8]>) -> Result<Verifier, String> {
        let eddsa = ed25519_pem
            .map(jsonwebtoken::DecodingKey::from_ed_pem)
            .transpose()
            .map_err(|e| format!("token public key: {e}"))?;
        Ok(Verifier {
            hs256: hs256_key.map(|k| jsonwebtoken::DecodingKey::from_secret(k.as_bytes())),
            eddsa,
        })
    }

    /// Whether any key is configured.
    pub fn is_configured(&self) -> bool {
        self.hs256.is_some() || self.eddsa.is_some()
    }

    /// The claims of `token` if it is well formed, signed by one of our keys with the
    /// algorithm that key is for, and not expired (a minute of clock skew allowed).
    pub fn verify(&self, token: &str) -> Result<Claims, String> {
        let header = jsonwebtoken::decode_header(token)
            .map_err(|e| format!("the token is not valid (malformed: {e})"))?;
        let key = match header.alg {
            jsonwebtoken::Algorithm::HS256 => self.hs256.as_ref(),
            jsonwebtoken::Algorithm::EdDSA => self.eddsa.as_ref(),
            _ => None,
        }
        .ok_or_else(|| format!("tokens signed with {:?} are not accepted here", header.alg))?;
        let mut v = jsonwebtoken::Validation::new(header.alg);
        v.set_required_spec_claims(&["exp"]);
        jsonwebtoken::decode::<Claims>(token, key, &v)
            .map(|d| d.claims)
            .map_err(|e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => "the token has expired".into(),
                jsonwebtoken::errors::ErrorKind::InvalidSignature => {
                    "the token's signature is not valid".into()
                }
                _ => format!("the token is not valid: {e}"),
            })
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
            iat: None,
        }
    }

    fn now() -> u64 {
        crate::unix_now()
    }

    #[test]
    fn a_minted_token_verifies_with_its_claims() {
        let v = Verifier::new(Some(KEY), None).unwrap();
        let c = claims(now() + 3600);
        assert_eq!(v.verify(&mint(KEY, &c)).unwrap(), c);
    }

    #[test]
    fn wrong_key_expired_garbage_and_alg_none_are_refused() {
        let v = Verifier::new(Some(KEY), None).unwrap();
        let other = mint(
            "another key of at least 32 characters!",
            &claims(now() + 60),
        );
        assert!(v.verify(&other).unwrap_err().contains("signature"));
        let old = mint(KEY, &claims(now() - 3600));
        assert!(v.verify(&old).unwrap_err().contains("expired"));
        assert!(v.verify("not.a.token").is_err());
        // An unsigned token ("alg":"none") with valid-looking claims.
        let b64 = |s: &str| {
            use base64::Engine;
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s)
        };
        let none = format!(
            "{}.{}.",
            b64(r#"{"alg":"none","typ":"JWT"}"#),
            b64(&serde_json::to_string(&claims(now() + 60)).unwrap())
        );
        assert!(v.verify(&none).is_err());
        // A token without exp.
        let no_exp = jsonwebtoken::encode(
            &jsonwebtoken::Header::default(),
            &serde_json::json!({"room":"standup","name":"Ada"}),
            &jsonwebtoken::EncodingKey::from_secret(KEY.as_bytes()),
        )
        .unwrap();
        assert!(v.verify(&no_exp).is_err());
    }

    #[test]
    fn without_an_hs256_key_hs256_tokens_are_refused() {
        let v = Verifier::new(None, None).unwrap();
        assert!(!v.is_configured());
        assert!(v.verify(&mint(KEY, &claims(now() + 60))).is_err());
    }
}
