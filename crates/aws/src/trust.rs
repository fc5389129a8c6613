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
//!
//! Each section is decoded here with the `base64` crate, checked as a trust anchor, and handed
//! on re-encoded in the strict PEM layout. The PEM reader of `rustls-pki-types` decodes in
//! constant time, which a private key needs and a public CA certificate does not; at about
//! 35 instructions a byte it made checking the 220 kB bundle cost as much as the SDK's own
//! parse of it, the largest single part of embed-text's start. The SDK still parses what it
//! gets with that reader, so it only ever sees PEM this module wrote.

use aws_smithy_http_client::tls::TrustStore;
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
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

/// The certificate sections of `pem` that decode and parse as trust anchors, re-encoded in
/// the strict layout and concatenated, and how many sections did not. Only these reach the
/// SDK, whose loader treats a section it cannot parse as a bug (it panics), where the native
/// loading skips it.
fn usable_certificates(pem: &str) -> (String, usize) {
    let mut usable = String::with_capacity(pem.len());
    let mut skipped = 0;
    let mut rest = pem;
    while let Some(start) = rest.find(BEGIN) {
        let body_start = start + BEGIN.len();
        let Some(len) = rest[body_start..].find(END) else {
            skipped += 1;
            break;
        };
        let body = &rest[body_start..body_start + len];
        rest = &rest[body_start + len + END.len()..];
        match anchor_der(body) {
            Some(der) => push_strict_pem(&mut usable, &der),
            None => skipped += 1,
        }
    }
    (usable, skipped)
}

/// The DER bytes of a section body (base64 over any line breaks) when they parse as a trust
/// anchor. A body with encapsulated headers or stray characters does not decode.
fn anchor_der(body: &str) -> Option<Vec<u8>> {
    let base64: String = body.split_ascii_whitespace().collect();
    let der = BASE64.decode(base64).ok()?;
    webpki::anchor_from_trusted_cert(&CertificateDer::from(der.as_slice())).ok()?;
    Some(der)
}

/// RFC 7468's strict layout: the boundary lines and 64 base64 characters a line.
fn push_strict_pem(out: &mut String, der: &[u8]) {
    out.push_str(BEGIN);
    out.push('\n');
    let encoded = BASE64.encode(der);
    let mut line_start = 0;
    while line_start < encoded.len() {
        let line_end = (line_start + 64).min(encoded.len());
        out.push_str(&encoded[line_start..line_end]);
        out.push('\n');
        line_start = line_end;
    }
    out.push_str(END);
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls_pki_types::pem::PemObject;

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
    fn sections_reach_the_sdk_in_the_strict_layout_with_their_der_unchanged() {
        let original: Vec<u8> = CertificateDer::from_pem_slice(CA.as_bytes())
            .expect("test CA parses")
            .to_vec();
        // The same certificate with CRLF line ends and one long base64 line.
        let body: String = CA
            .trim_start_matches(BEGIN)
            .trim_end_matches(END)
            .split_ascii_whitespace()
            .collect();
        let crlf = format!("{BEGIN}\r\n{body}\r\n{END}\r\n");
        for bundle in [CA.to_string(), crlf] {
            let (usable, skipped) = usable_certificates(&bundle);
            assert_eq!(skipped, 0);
            assert!(usable.lines().all(|line| line.len() <= 64));
            let ders: Vec<Vec<u8>> = CertificateDer::pem_slice_iter(usable.as_bytes())
                .map(|der| der.expect("strict PEM parses").to_vec())
                .collect();
            assert_eq!(ders, vec![original.clone()]);
        }
    }

    #[test]
    fn sections_with_headers_or_stray_characters_are_skipped() {
        let body = CA.trim_start_matches(BEGIN).trim_end_matches(END);
        let with_header = format!("{BEGIN}\nProc-Type: 4,ENCRYPTED\n{body}{END}");
        let with_stray = format!("{BEGIN}\n*{body}{END}");
        assert_eq!(usable_certificates(&with_header), (String::new(), 1));
        assert_eq!(usable_certificates(&with_stray), (String::new(), 1));
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
