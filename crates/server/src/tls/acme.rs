//! Certificates from an ACME CA (RFC 8555; Let's Encrypt by default), the thin driver
//! around `instant-acme`: when to ask is [`super::renew`]'s decision, this file only
//! talks to the CA, answers its validation and keeps the results in the data dir.
//!
//! Validation is TLS-ALPN-01 on the HTTPS port (the challenge certificate is handed to
//! the [`CertResolver`] every TLS listener shares), or HTTP-01 when a plain-HTTP
//! listener is configured (`--acme-http-listen`, served by [`super::http01`]). A new
//! certificate is written to the data dir (key 0600) and swapped into the resolver; a
//! failed attempt is logged in words and retried with backoff while the old one serves.
//! A restart reuses a stored certificate that is still valid without asking the CA.

use super::renew::{self, Validity};
use super::{read_pem_pair, write_private, CertResolver, TlsError, TlsMaterial, TlsOrigin};
use instant_acme::{
    Account, AccountCredentials, AuthorizationStatus, ChallengeType, Identifier, NewAccount,
    NewOrder, OrderStatus, RetryPolicy,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};
use tokio_util::sync::CancellationToken;

/// The longest one issuance may take (account, order, validation, finalization) before
/// it counts as failed.
const ISSUE_DEADLINE: Duration = Duration::from_secs(300);

/// The longest the driver sleeps before looking at the clock again (a suspended host
/// or a clock step must not make it miss the renewal).
const MAX_SLEEP: Duration = Duration::from_secs(3600);

/// Why an issuance failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AcmeError {
    /// The CA answered with an error, or could not be reached.
    #[error("the ACME CA: {0}")]
    Protocol(#[from] instant_acme::Error),
    /// The CA offered no challenge type confab can answer.
    #[error("the CA offers no {0} challenge for {1}")]
    NoChallenge(&'static str, String),
    /// Validation failed: the CA could not reach us, or saw the wrong answer.
    #[error("the CA did not validate {0}")]
    Invalid(String),
    /// A certificate or key could not be made, read or stored.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// The challenge certificate could not be made.
    #[error("making the challenge certificate: {0}")]
    Generate(#[from] rcgen::Error),
    /// The issuance took longer than [`ISSUE_DEADLINE`].
    #[error("no certificate within {} s", ISSUE_DEADLINE.as_secs())]
    Timeout,
}

impl AcmeError {
    /// Whether the CA says the stored account does not exist (a CA that lost or
    /// deactivated it): then a new one must be registered.
    pub fn account_gone(&self) -> bool {
        matches!(
            self,
            AcmeError::Protocol(instant_acme::Error::Api(p))
                if p.r#type.as_deref() == Some("urn:ietf:params:acme:error:accountDoesNotExist")
        )
    }
}

/// HTTP-01 answers being validated: token to key authorization. Shared with the
/// plain-HTTP listener that serves `/.well-known/acme-challenge/<token>`.
#[derive(Clone, Debug, Default)]
pub struct Http01Tokens(Arc<RwLock<HashMap<String, String>>>);

impl Http01Tokens {
    /// The key authorization for `token`, while it is being validated.
    pub fn get(&self, token: &str) -> Option<String> {
        let map = self.0.read().unwrap_or_else(|e| e.into_inner());
        map.get(token).cloned()
    }

    fn set(&self, token: &str, answer: Option<String>) {
        let mut map = self.0.write().unwrap_or_else(|e| e.into_inner());
        match answer {
            Some(a) => map.insert(token.to_owned(), a),
            None => map.remove(token),
        };
    }
}

/// Where one CA's account and certificate live: `<data dir>/tls/acme/<CA>/`, so a
/// change of directory (staging to production) never mixes the two.
#[derive(Clone, Debug)]
pub struct AcmeStore {
    dir: PathBuf,
}

impl AcmeStore {
    /// The store for `directory` under `data_dir`.
    pub fn new(data_dir: &Path, directory: &str) -> AcmeStore {
        let hash = super::fingerprint(directory.as_bytes()).replace(':', "");
        AcmeStore {
            dir: data_dir.join("tls").join("acme").join(&hash[..16]),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// The stored certificate, if it covers exactly `domains` and is valid now.
    pub fn load_cert(&self, domains: &[String]) -> Option<(TlsMaterial, Validity)> {
        let names = std::fs::read_to_string(self.path("names.txt")).ok()?;
        if names != domains.join("\n") {
            return None;
        }
        let (chain, key) = read_pem_pair(&self.path("cert.pem"), &self.path("key.pem")).ok()?;
        let validity = Validity::of_der(&chain[0]).ok()?;
        let m = super::material(chain, key, TlsOrigin::Acme(self.path("cert.pem")));
        super::resolver::certified_key(&m).ok()?;
        validity
            .usable_at(SystemTime::now())
            .then_some((m, validity))
    }

    fn save_cert(
        &self,
        domains: &[String],
        chain_pem: &str,
        key_pem: &str,
    ) -> Result<(), TlsError> {
        self.create()?;
        let io = |what, path: PathBuf| move |source| TlsError::Io { what, path, source };
        // The key first: a crash between the two leaves a pair that does not match,
        // which load_cert refuses, rather than an old key with a new certificate.
        let key = self.path("key.pem");
        write_private(&key, key_pem.as_bytes()).map_err(io("cannot write", key))?;
        let cert = self.path("cert.pem");
        std::fs::write(&cert, chain_pem).map_err(io("cannot write", cert))?;
        let names = self.path("names.txt");
        std::fs::write(&names, domains.join("\n")).map_err(io("cannot write", names))?;
        Ok(())
    }

    fn load_account(&self) -> Option<AccountCredentials> {
        let text = std::fs::read_to_string(self.path("account.json")).ok()?;
        serde_json::from_str(&text).ok()
    }

    fn forget_account(&self) {
        let _ = std::fs::remove_file(self.path("account.json"));
    }

    fn save_account(&self, creds: &AccountCredentials) -> Result<(), TlsError> {
        self.create()?;
        let path = self.path("account.json");
        let json = serde_json::to_vec(creds).unwrap_or_default();
        write_private(&path, &json).map_err(|source| TlsError::Io {
            what: "cannot write",
            path,
            source,
        })
    }

    fn create(&self) -> Result<(), TlsError> {
        crate::store::private::private_dir(&self.dir).map_err(|source| TlsError::Io {
            what: "cannot create",
            path: self.dir.clone(),
            source,
        })
    }
}

/// What the driver needs: the names, the CA, where to keep things, how to validate.
#[derive(Clone, Debug)]
pub struct AcmeConfig {
    /// The names the certificate covers.
    pub domains: Vec<String>,
    /// The account's contact address.
    pub email: Option<String>,
    /// The CA's directory URL.
    pub directory: String,
    /// A root for the directory's HTTPS certificate (a private or test CA).
    pub ca_file: Option<PathBuf>,
    /// Where the account and certificate are kept.
    pub store: AcmeStore,
    /// HTTP-01 answers, when a plain-HTTP listener serves them; else TLS-ALPN-01.
    pub http01: Option<Http01Tokens>,
}

/// Keeps `resolver`'s certificate issued and renewed until `shutdown`. `current` is the
/// validity of a stored certificate already in the resolver (`None`: a placeholder is
/// being served, so ask at once).
pub async fn maintain(
    config: AcmeConfig,
    resolver: Arc<CertResolver>,
    mut current: Option<Validity>,
    shutdown: CancellationToken,
) {
    let (mut failures, mut last_failure) = (0u32, None);
    let mut account = None;
    loop {
        let now = SystemTime::now();
        let at = renew::next_attempt(current.as_ref(), failures, last_failure, now);
        let wait = at.duration_since(now).unwrap_or_default().min(MAX_SLEEP);
        if !wait.is_zero() {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(wait) => continue,
            }
        }
        let names = config.domains.join(", ");
        tracing::info!("asking {} for a certificate for {names}", config.directory);
        let attempt = tokio::time::timeout(ISSUE_DEADLINE, issue(&config, &resolver, &mut account));
        let result = tokio::select! {
            _ = shutdown.cancelled() => return,
            r = attempt => r.unwrap_or(Err(AcmeError::Timeout)),
        };
        match result.and_then(|(m, v)| resolver.set(&m).map(|()| (m, v)).map_err(Into::into)) {
            Ok((m, v)) => {
                failures = 0;
                current = Some(v);
                let renew_in = v
                    .renew_at()
                    .duration_since(SystemTime::now())
                    .unwrap_or_default();
                tracing::info!(
                    fingerprint = %m.fingerprint,
                    "new certificate for {names} in use; it will be renewed in {} s",
                    renew_in.as_secs()
                );
            }
            Err(e) => {
                if e.account_gone() {
                    account = None;
                    config.store.forget_account();
                    tracing::warn!(
                        "{} does not know the stored ACME account: registering a new one",
                        config.directory
                    );
                }
                failures = failures.saturating_add(1);
                last_failure = Some(SystemTime::now());
                // The resolver is unchanged: whatever it served, it still serves.
                let keeping = match current {
                    Some(v) if v.usable_at(SystemTime::now()) => "the current certificate",
                    Some(_) => "the current certificate, which has EXPIRED",
                    None => "the temporary self-signed certificate",
                };
                tracing::warn!(
                    "could not get a certificate for {names}: {}; still serving {keeping}, \
                     trying again in {} s",
                    in_words(&e),
                    renew::retry_delay(failures).as_secs()
                );
            }
        }
    }
}

/// `e` and its causes, outermost first ("client error (Connect): tcp connect error:
/// Connection refused"), each said once.
fn in_words(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}

/// One issuance: account, order, validation, finalization; the new certificate is
/// stored before it is returned.
async fn issue(
    config: &AcmeConfig,
    resolver: &CertResolver,
    account: &mut Option<Account>,
) -> Result<(TlsMaterial, Validity), AcmeError> {
    let acct = match account {
        Some(a) => a.clone(),
        None => account.insert(open_account(config).await?).clone(),
    };
    let ids: Vec<Identifier> = config
        .domains
        .iter()
        .map(|d| Identifier::Dns(d.clone()))
        .collect();
    let mut order = acct.new_order(&NewOrder::new(&ids)).await?;
    let mut answered = Vec::new();
    let validated = answer_challenges(config, resolver, &mut order, &mut answered).await;
    let status = match validated {
        Ok(()) => order
            .poll_ready(&RetryPolicy::new().timeout(Duration::from_secs(120)))
            .await
            .map_err(AcmeError::from),
        Err(e) => Err(e),
    };
    // The answers are withdrawn whatever happened: a stale challenge certificate must
    // not outlive its validation.
    for (name, token) in &answered {
        resolver.remove_challenge(name);
        if let Some(t) = &config.http01 {
            t.set(token, None);
        }
    }
    let status = status?;
    if status != OrderStatus::Ready {
        return Err(AcmeError::Invalid(why_invalid(&mut order).await));
    }
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
    let mut params = rcgen::CertificateParams::new(config.domains.clone())?;
    params.distinguished_name = rcgen::DistinguishedName::new();
    let csr = params.serialize_request(&key)?;
    order.finalize_csr(csr.der()).await?;
    let chain_pem = order
        .poll_certificate(&RetryPolicy::new().timeout(Duration::from_secs(120)))
        .await?;
    let key_pem = key.serialize_pem();
    let pem_err = |message: String| TlsError::Pem {
        path: PathBuf::from(&config.directory),
        message,
    };
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(chain_pem.as_bytes())
        .collect::<Result<_, _>>()
        .map_err(|e| pem_err(format!("the CA sent an unreadable certificate: {e}")))?;
    let leaf = chain
        .first()
        .ok_or_else(|| pem_err("the CA sent no certificate".into()))?;
    let validity = Validity::of_der(leaf).map_err(pem_err)?;
    let der_key = PrivateKeyDer::try_from(key.serialize_der()).map_err(|e| pem_err(e.into()))?;
    config
        .store
        .save_cert(&config.domains, &chain_pem, &key_pem)?;
    let m = super::material(
        chain,
        der_key,
        TlsOrigin::Acme(config.store.path("cert.pem")),
    );
    Ok((m, validity))
}

/// Puts up an answer for every pending authorization and tells the CA to validate;
/// each answered `(name, token)` is pushed to `answered` for the caller to withdraw.
async fn answer_challenges(
    config: &AcmeConfig,
    resolver: &CertResolver,
    order: &mut instant_acme::Order,
    answered: &mut Vec<(String, String)>,
) -> Result<(), AcmeError> {
    let (kind, kind_name) = match config.http01 {
        Some(_) => (ChallengeType::Http01, "http-01"),
        None => (ChallengeType::TlsAlpn01, "tls-alpn-01"),
    };
    let mut authorizations = order.authorizations();
    while let Some(authz) = authorizations.next().await {
        let mut authz = authz?;
        match authz.status {
            AuthorizationStatus::Pending => {}
            AuthorizationStatus::Valid => continue,
            other => {
                return Err(AcmeError::Invalid(format!(
                    "{}: authorization is {other:?}",
                    authz.identifier()
                )))
            }
        }
        let name = authz.identifier().to_string();
        let mut challenge = authz
            .challenge(kind.clone())
            .ok_or_else(|| AcmeError::NoChallenge(kind_name, name.clone()))?;
        let key_auth = challenge.key_authorization();
        match &config.http01 {
            Some(tokens) => tokens.set(&challenge.token, Some(key_auth.as_str().to_owned())),
            None => {
                resolver.add_challenge(&name, alpn_challenge(&name, key_auth.digest().as_ref())?)
            }
        }
        answered.push((name, challenge.token.clone()));
        challenge.set_ready().await?;
    }
    Ok(())
}

/// The CA's reasons an order became invalid, in its words.
async fn why_invalid(order: &mut instant_acme::Order) -> String {
    let mut reasons = Vec::new();
    let mut authorizations = order.authorizations();
    while let Some(Ok(authz)) = authorizations.next().await {
        for c in &authz.challenges {
            if let Some(p) = &c.error {
                reasons.push(format!(
                    "{}: {}",
                    authz.identifier(),
                    p.detail.as_deref().unwrap_or("no detail")
                ));
            }
        }
    }
    if reasons.is_empty() {
        "the order is invalid".into()
    } else {
        reasons.join("; ")
    }
}

/// The account for this CA: the stored one, or a new one (stored 0600).
async fn open_account(config: &AcmeConfig) -> Result<Account, AcmeError> {
    let builder = || match &config.ca_file {
        Some(pem) => Account::builder_with_root(pem),
        None => Account::builder(),
    };
    if let Some(creds) = config.store.load_account() {
        return Ok(builder()?.from_credentials(creds).await?);
    }
    let contact = config.email.as_ref().map(|e| format!("mailto:{e}"));
    let contact: Vec<&str> = contact.iter().map(String::as_str).collect();
    let (account, creds) = builder()?
        .create(
            &NewAccount {
                contact: &contact,
                terms_of_service_agreed: true,
                only_return_existing: false,
            },
            config.directory.clone(),
            None,
        )
        .await?;
    config.store.save_account(&creds)?;
    tracing::info!("registered an ACME account with {}", config.directory);
    Ok(account)
}

/// The TLS-ALPN-01 certificate for `name` (RFC 8737): self-signed, the name as its only
/// SAN, the SHA-256 of the key authorization in the critical acmeIdentifier extension.
fn alpn_challenge(name: &str, digest: &[u8]) -> Result<Arc<rustls::sign::CertifiedKey>, AcmeError> {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
    let mut params = rcgen::CertificateParams::new(vec![name.to_owned()])?;
    params.custom_extensions = vec![rcgen::CustomExtension::new_acme_identifier(digest)];
    let cert = params.self_signed(&key)?;
    let der_key = PrivateKeyDer::try_from(key.serialize_der()).map_err(|e| TlsError::Pem {
        path: PathBuf::from(name),
        message: e.into(),
    })?;
    // Not `resolver::certified_key`: its key check parses the certificate with webpki,
    // which refuses the critical acmeIdentifier extension it does not know.
    let signer = super::resolver::provider()
        .key_provider
        .load_private_key(der_key)
        .map_err(TlsError::from)?;
    Ok(Arc::new(rustls::sign::CertifiedKey::new(
        vec![cert.der().clone()],
        signer,
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stored_certificate_is_reused_only_for_the_same_names_while_valid() {
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let dir = std::env::temp_dir().join(format!("confab-acme-store-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let store = AcmeStore::new(&dir, "https://ca.test/dir");
        let other = AcmeStore::new(&dir, "https://other.test/dir");
        assert_ne!(store.dir, other.dir);
        let domains = vec!["a.test".to_string()];
        assert!(store.load_cert(&domains).is_none());
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let cert = rcgen::CertificateParams::new(domains.clone())
            .unwrap()
            .self_signed(&key)
            .unwrap();
        store
            .save_cert(&domains, &cert.pem(), &key.serialize_pem())
            .unwrap();
        let (m, v) = store.load_cert(&domains).expect("reused");
        assert!(matches!(m.origin, TlsOrigin::Acme(_)));
        assert!(v.usable_at(SystemTime::now()));
        assert!(store.load_cert(&["b.test".to_string()]).is_none());
        assert!(other.load_cert(&domains).is_none());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(store.path("key.pem"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn only_an_unknown_account_makes_a_new_one() {
        let problem = |t: &str| {
            AcmeError::Protocol(instant_acme::Error::Api(instant_acme::Problem {
                r#type: Some(t.to_owned()),
                detail: None,
                status: Some(400),
                subproblems: Vec::new(),
            }))
        };
        assert!(problem("urn:ietf:params:acme:error:accountDoesNotExist").account_gone());
        assert!(!problem("urn:ietf:params:acme:error:rateLimited").account_gone());
        assert!(!AcmeError::Timeout.account_gone());
    }

    #[test]
    fn the_challenge_certificate_carries_the_digest() {
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let digest = [7u8; 32];
        let ck = alpn_challenge("a.test", &digest).unwrap();
        let (_, cert) = x509_parser::parse_x509_certificate(&ck.cert[0]).unwrap();
        let ext = cert
            .extensions()
            .iter()
            .find(|e| e.oid.to_id_string() == "1.3.6.1.5.5.7.1.31")
            .expect("acmeIdentifier");
        assert!(ext.critical);
        // An OCTET STRING of 32 bytes: 04 20, then the digest.
        assert_eq!(&ext.value[..2], &[0x04, 0x20]);
        assert_eq!(&ext.value[2..], &digest);
    }
}
