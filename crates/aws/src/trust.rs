//! Trust roots for the SDK's TLS connections: the system's CA bundle file, read once.
//!
//! The SDK's default trust store ("native roots") loads the bundle file *and* scans every
//! certificate directory the OpenSSL probe finds, reading and parsing each file in it. On
//! Debian-like systems that directory holds the bundle's certificates again, one file each
//! (about 150 files, read through some 300 links), so every start read and parsed the whole
//! set twice; on Amazon Linux it holds the bundle again in two formats. Lambda's start runs
//! this once per container, in the init phase that counts against the cold start.
//!
//! [`trust_store`] keeps the same trust decisions (the system's bundle, maintained by the OS
//! and the Lambda runtime image, so a distrusted root disappears with the image update) and
//! drops only the redundant directory scan. Compiled-in roots (the `webpki-roots` crate) were
//! considered: the SDK's `TrustStore` accepts only PEM certificates, not the trust anchors
//! that crate provides, and the Mozilla set as PEM would add about 150 kB to each zipped
//! bootstrap, beyond the 4 MB budget. Bedrock, DynamoDB and SQS endpoints chain to the
//! Amazon Root CAs, which every system bundle includes.
//!
//! When `SSL_CERT_DIR` is set, or no bundle file is found or none of its certificates parses,
//! the SDK's native loading applies unchanged.

use aws_smithy_http_client::tls::TrustStore;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;
use std::path::PathBuf;

const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
const END: &str = "-----END CERTIFICATE-----";

/// The trust store for every SDK client: the system bundle file's usable certificates, or
/// the SDK's native loading when the bundle cannot serve (see the module docs).
pub fn trust_store() -> TrustStore {
    match bundle_certificates() {
        Some(pem) => TrustStore::empty().with_pem_certificate(pem),
        None => TrustStore::default(),
    }
}

/// The PEM certificates of the system bundle that the TLS verifier accepts as trust anchors,
/// or `None` when the native loading should apply instead.
fn bundle_certificates() -> Option<String> {
    if std::env::var_os("SSL_CERT_DIR").is_some_and(|dirs| !dirs.is_empty()) {
        return None;
    }
    let path = bundle_path()?;
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(err) => {
            tracing::warn!(path = %path.display(), error = %err, "CA bundle unreadable; loading native roots");
            return None;
        }
    };
    let (usable, skipped) = usable_certificates(&text);
    if skipped > 0 {
        tracing::debug!(path = %path.display(), skipped, "CA bundle certificates not usable as trust anchors");
    }
    if usable.is_empty() {
        tracing::warn!(path = %path.display(), "no usable certificate in the CA bundle; loading native roots");
        return None;
    }
    Some(usable)
}

/// `SSL_CERT_FILE` when set, else the first bundle file the OpenSSL probe finds (the same
/// file the native loading reads first).
fn bundle_path() -> Option<PathBuf> {
    match std::env::var_os("SSL_CERT_FILE").filter(|file| !file.is_empty()) {
        Some(file) => Some(PathBuf::from(file)),
        None => openssl_probe::probe().cert_file,
    }
}

/// The certificate sections of `pem` that decode and parse as trust anchors, concatenated,
/// and how many sections did not. Only these reach the SDK, whose loader treats a section it
/// cannot parse as a bug (it panics), where the native loading skips it.
fn usable_certificates(pem: &str) -> (String, usize) {
    let mut usable = String::with_capacity(pem.len());
    let mut skipped = 0;
    let mut rest = pem;
    while let Some(start) = rest.find(BEGIN) {
        let Some(len) = rest[start..].find(END) else {
            skipped += 1;
            break;
        };
        let end = start + len + END.len();
        let section = &rest[start..end];
        rest = &rest[end..];
        if parses_as_anchor(section) {
            usable.push_str(section);
            usable.push('\n');
        } else {
            skipped += 1;
        }
    }
    (usable, skipped)
}

fn parses_as_anchor(section: &str) -> bool {
    CertificateDer::from_pem_slice(section.as_bytes())
        .is_ok_and(|der| webpki::anchor_from_trusted_cert(&der).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A self-signed ECDSA P-256 CA certificate (generated for this test only).
    const CA: &str = "-----BEGIN CERTIFICATE-----
MIIBfTCCASOgAwIBAgIUM8nerIKik0K3wJasY1eYeqi/iggwCgYIKoZIzj0EAwIw
FDESMBAGA1UEAwwJdGVzdC1yb290MB4XDTI2MTIwMTA5MTk1M1oXDTM2MTEyODA5
MTk1M1owFDESMBAGA1UEAwwJdGVzdC1yb290MFkwEwYHKoZIzj0CAQYIKoZIzj0D
AQcDQgAEwAG+vagKUzcoOiVKcQJp6z8U1jz3IY0ZqkDh8vfAddFZ0+KPwThNgGgC
gQUdFX4z/rGhOrCDX+wu2WoucNYe06NTMFEwHQYDVR0OBBYEFFwUqpJP+wYWqBn2
WPDgitNG6LkzMB8GA1UdIwQYMBaAFFwUqpJP+wYWqBn2WPDgitNG6LkzMA8GA1Ud
EwEB/wQFMAMBAf8wCgYIKoZIzj0EAwIDSAAwRQIgcdLhoaOdzz6N2NS2IO0CWZbl
kQLUfpjal/aBEXY/ltgCIQDs/maV5lQaSHm+jS+3Ab026tyGalecRrSZnIqiEwQA
kg==
-----END CERTIFICATE-----";

    #[test]
    fn keeps_parsable_sections_and_counts_the_rest() {
        let garbage = format!("{BEGIN}\nAAAA\n{END}");
        let bundle = format!("# comment\n{CA}\n{garbage}\n{CA}\n");
        let (usable, skipped) = usable_certificates(&bundle);
        assert_eq!(skipped, 1);
        assert_eq!(usable.matches(BEGIN).count(), 2);
        assert!(!usable.contains("AAAA"));
        let ders: Result<Vec<_>, _> = CertificateDer::pem_slice_iter(usable.as_bytes()).collect();
        assert_eq!(ders.map(|d| d.len()).ok(), Some(2));
    }

    #[test]
    fn unterminated_section_is_skipped() {
        let (usable, skipped) = usable_certificates(&format!("{CA}\n{BEGIN}\nAAAA"));
        assert_eq!(usable.matches(BEGIN).count(), 1);
        assert_eq!(skipped, 1);
    }

    #[test]
    fn empty_bundle_has_nothing_usable() {
        assert_eq!(usable_certificates(""), (String::new(), 0));
    }
}
