//! Server certificate checks on top of rustls's WebPKI verifier: a
//! self-signed certificate that is both the trust anchor and the server's
//! certificate (what `openssl req -x509` makes, with `CA:TRUE`) is
//! accepted, as curl accepts it with `--cacert`; and every certificate
//! error reads as a sentence.
//!
//! WebPKI refuses a certificate with `CA:TRUE` as a server's own
//! (`CaUsedAsEndEntity`). [`AnchorVerifier`] accepts it only when the
//! certificate presented is byte for byte one of the certificates the user
//! configured as trusted, and then still checks that it names the server
//! and is within its validity period; the handshake signature is checked by
//! the provider as for any certificate (the server must hold its key).

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::ParsedCertificate;
use rustls::{CertificateError, DigitallySignedStruct, DistinguishedName, SignatureScheme};

/// WebPKI's verifier, plus: a configured anchor presented as the server's
/// own certificate is accepted (see the module docs).
#[derive(Debug)]
pub(crate) struct AnchorVerifier {
    inner: Arc<WebPkiServerVerifier>,
    anchors: Vec<CertificateDer<'static>>,
}

impl AnchorVerifier {
    pub(crate) fn new(
        inner: Arc<WebPkiServerVerifier>,
        anchors: Vec<CertificateDer<'static>>,
    ) -> Self {
        AnchorVerifier { inner, anchors }
    }

    /// `end_entity` is one of the anchors: trusted as itself, so only its
    /// name and its validity period are left to check.
    fn verify_anchor(
        &self,
        end_entity: &CertificateDer<'_>,
        server_name: &ServerName<'_>,
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let parsed = ParsedCertificate::try_from(end_entity)?;
        rustls::client::verify_server_name(&parsed, server_name)?;
        let (not_before, not_after) =
            validity(end_entity.as_ref()).ok_or(CertificateError::BadEncoding)?;
        let now = i64::try_from(now.as_secs()).unwrap_or(i64::MAX);
        if now < not_before {
            return Err(CertificateError::NotValidYet.into());
        }
        if now > not_after {
            return Err(CertificateError::Expired.into());
        }
        tracing::debug!(
            server = ?server_name,
            "server certificate has CA:TRUE and is itself a trusted certificate: accepted"
        );
        Ok(ServerCertVerified::assertion())
    }
}

impl ServerCertVerifier for AnchorVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self.inner.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        ) {
            Err(rustls::Error::InvalidCertificate(CertificateError::Other(other)))
                if is_ca_used_as_end_entity(&other)
                    && self
                        .anchors
                        .iter()
                        .any(|a| a.as_ref() == end_entity.as_ref()) =>
            {
                self.verify_anchor(end_entity, server_name, now)
            }
            result => result,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }

    fn root_hint_subjects(&self) -> Option<&[DistinguishedName]> {
        self.inner.root_hint_subjects()
    }
}

fn webpki_error(other: &rustls::OtherError) -> Option<&webpki::Error> {
    other.0.downcast_ref::<webpki::Error>()
}

fn is_ca_used_as_end_entity(other: &rustls::OtherError) -> bool {
    matches!(webpki_error(other), Some(webpki::Error::CaUsedAsEndEntity))
}

/// What is wrong with a server's certificate, as the end of the sentence
/// "the server's certificate ...". `server` is the name the client asked
/// for.
pub(crate) fn describe(error: &CertificateError, server: &str) -> String {
    use CertificateError as E;
    match error {
        E::NotValidForName => format!("is not valid for the name {server}"),
        E::NotValidForNameContext { presented, .. } => {
            let names: Vec<String> = presented.iter().map(|n| general_name(n)).collect();
            if names.is_empty() {
                format!("is not valid for the name {server} (it names no host)")
            } else {
                format!(
                    "is not valid for the name {server} (it is for {})",
                    names.join(", ")
                )
            }
        }
        E::UnknownIssuer => "is signed by an unknown authority (none of the trusted certificates issued it)".to_owned(),
        E::Expired => "has expired".to_owned(),
        E::ExpiredContext { not_after, .. } => {
            format!("has expired (valid until {})", date(not_after.as_secs()))
        }
        E::NotValidYet => "is not valid yet".to_owned(),
        E::NotValidYetContext { not_before, .. } => {
            format!("is not valid yet (valid from {})", date(not_before.as_secs()))
        }
        E::Revoked => "has been revoked".to_owned(),
        E::BadEncoding => "is malformed (it cannot be parsed)".to_owned(),
        E::BadSignature => "carries a signature that does not verify".to_owned(),
        E::UnhandledCriticalExtension => {
            "has a critical extension this client does not understand".to_owned()
        }
        // (The unit variant `UnsupportedSignatureAlgorithm` is deprecated:
        // rustls no longer makes it.)
        E::UnsupportedSignatureAlgorithmContext { .. }
        | E::UnsupportedSignatureAlgorithmForPublicKeyContext { .. } => {
            "is signed with an algorithm this client does not support".to_owned()
        }
        E::InvalidPurpose | E::InvalidPurposeContext { .. } => {
            "is not meant for a TLS server (its extended key usage lacks serverAuth)".to_owned()
        }
        E::UnknownRevocationStatus => "has a revocation status that is not known".to_owned(),
        E::ExpiredRevocationList | E::ExpiredRevocationListContext { .. } => {
            "cannot be checked: the certificate revocation list has expired".to_owned()
        }
        E::ApplicationVerificationFailure => "was refused by the application's verifier".to_owned(),
        E::Other(other) => match webpki_error(other) {
            Some(webpki::Error::CaUsedAsEndEntity) => "is a CA certificate (CA:TRUE), not a server certificate, and is not itself one of the trusted certificates".to_owned(),
            Some(webpki::Error::EndEntityUsedAsCa) => {
                "is issued by a certificate that is not a CA".to_owned()
            }
            Some(webpki::Error::UnsupportedCertVersion) => {
                "has an unsupported version (only X.509 v3 is accepted)".to_owned()
            }
            Some(webpki::Error::MaximumPathDepthExceeded | webpki::Error::MaximumPathBuildCallsExceeded) => {
                "has a chain of issuers too long to verify".to_owned()
            }
            Some(webpki::Error::NameConstraintViolation) => {
                "names a host its issuer may not certify".to_owned()
            }
            Some(webpki::Error::PathLenConstraintViolated) => {
                "is issued through more intermediate CAs than one of them allows".to_owned()
            }
            _ => format!("is invalid ({other})"),
        },
        other => format!("is invalid ({other})"),
    }
}

/// `DnsName("localhost")` / `IpAddress(127.0.0.1)` (how WebPKI lists a
/// certificate's names) as `localhost` / `127.0.0.1`.
fn general_name(presented: &str) -> String {
    for (prefix, suffix) in [("DnsName(\"", "\")"), ("IpAddress(", ")")] {
        if let Some(inner) = presented
            .strip_prefix(prefix)
            .and_then(|s| s.strip_suffix(suffix))
        {
            return inner.to_owned();
        }
    }
    presented.to_owned()
}

/// Seconds since the epoch as `YYYY-MM-DD HH:MM:SS UTC`.
fn date(secs: u64) -> String {
    let secs = i64::try_from(secs).unwrap_or(i64::MAX / 2);
    let (days, rest) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        rest / 3600,
        rest / 60 % 60,
        rest % 60
    )
}

// ------------------------------------------------- DER: the validity period

/// One DER element at the start of `input`: its tag, its contents, and
/// what follows it.
fn tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |a, &b| (a << 8) | usize::from(b));
        (len, &rest[n..])
    };
    (rest.len() >= len).then(|| (tag, &rest[..len], &rest[len..]))
}

/// The element at the start of `input` if its tag is `tag`.
fn expect(input: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    let (t, contents, rest) = tlv(input)?;
    (t == tag).then_some((contents, rest))
}

const SEQUENCE: u8 = 0x30;
const INTEGER: u8 = 0x02;
const UTC_TIME: u8 = 0x17;
const GENERALIZED_TIME: u8 = 0x18;
const VERSION: u8 = 0xa0; // [0] EXPLICIT

/// `notBefore` and `notAfter` of a DER certificate (RFC 5280 §4.1.2.5), in
/// seconds since the epoch; `None` if it does not parse.
pub(crate) fn validity(cert: &[u8]) -> Option<(i64, i64)> {
    let (cert, _) = expect(cert, SEQUENCE)?;
    let (mut tbs, _) = expect(cert, SEQUENCE)?;
    if tbs.first() == Some(&VERSION) {
        tbs = tlv(tbs)?.2;
    }
    let (_serial, tbs) = expect(tbs, INTEGER)?;
    let (_signature, tbs) = expect(tbs, SEQUENCE)?;
    let (_issuer, tbs) = expect(tbs, SEQUENCE)?;
    let (validity, _) = expect(tbs, SEQUENCE)?;
    let (t1, not_before, rest) = tlv(validity)?;
    let (t2, not_after, _) = tlv(rest)?;
    Some((time(t1, not_before)?, time(t2, not_after)?))
}

/// A UTCTime (`YYMMDDHHMMSSZ`) or GeneralizedTime (`YYYYMMDDHHMMSSZ`), the
/// forms RFC 5280 §4.1.2.5 allows, in seconds since the epoch.
fn time(tag: u8, text: &[u8]) -> Option<i64> {
    let number = |s: &[u8]| -> Option<i64> {
        s.iter().try_fold(0i64, |a, &c| {
            c.is_ascii_digit().then(|| a * 10 + i64::from(c - b'0'))
        })
    };
    let (year, rest) = match (tag, text.len()) {
        (UTC_TIME, 13) => {
            let yy = number(&text[..2])?;
            // RFC 5280 §4.1.2.5.1: 50..99 are 19xx, 00..49 are 20xx.
            (if yy >= 50 { 1900 + yy } else { 2000 + yy }, &text[2..])
        }
        (GENERALIZED_TIME, 15) => (number(&text[..4])?, &text[4..]),
        _ => return None,
    };
    if rest[10] != b'Z' {
        return None;
    }
    let month = number(&rest[0..2])?;
    let day = number(&rest[2..4])?;
    let (h, m, s) = (
        number(&rest[4..6])?,
        number(&rest[6..8])?,
        number(&rest[8..10])?,
    );
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || h > 23 || m > 59 || s > 59 {
        return None;
    }
    Some(days_from_civil(year, month, day) * 86_400 + h * 3600 + m * 60 + s)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
/// algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((m + 9) % 12) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day since 1970-01-01 (the inverse of `days_from_civil`).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        for days in [-1, 0, 59, 60, 11_016, 11_017, 20_000, 50_000] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(date(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(date(951_782_400 + 3661), "2000-02-29 01:01:01 UTC");
    }

    #[test]
    fn times_of_both_forms() {
        assert_eq!(time(UTC_TIME, b"700101000000Z"), Some(0));
        assert_eq!(time(UTC_TIME, b"491231235959Z"), Some(2_524_607_999));
        assert_eq!(
            time(GENERALIZED_TIME, b"20000229010101Z"),
            Some(951_786_061)
        );
        assert_eq!(time(UTC_TIME, b"7001010000Z"), None);
        assert_eq!(time(UTC_TIME, b"701301000000Z"), None);
        assert_eq!(time(GENERALIZED_TIME, b"2000022901010+Z"), None);
    }

    #[test]
    fn truncated_der_is_none_not_a_panic() {
        for input in [
            &[][..],
            &[0x30],
            &[0x30, 0x85, 1, 1, 1, 1, 1],
            &[0x30, 0x05, 0x30],
        ] {
            assert_eq!(validity(input), None);
        }
    }

    #[test]
    fn names_as_webpki_lists_them() {
        assert_eq!(general_name("DnsName(\"localhost\")"), "localhost");
        assert_eq!(general_name("IpAddress(127.0.0.1)"), "127.0.0.1");
        assert_eq!(general_name("DirectoryName"), "DirectoryName");
    }
}

#[cfg(test)]
mod anchor_tests {
    use super::*;
    use rustls::RootCertStore;

    fn anchor(from: (i32, u8, u8), until: (i32, u8, u8)) -> CertificateDer<'static> {
        let mut params = rcgen::CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params.not_before = rcgen::date_time_ymd(from.0, from.1, from.2);
        params.not_after = rcgen::date_time_ymd(until.0, until.1, until.2);
        let key = rcgen::KeyPair::generate().unwrap();
        params.self_signed(&key).unwrap().der().clone()
    }

    fn verifier(cert: &CertificateDer<'static>) -> AnchorVerifier {
        let mut roots = RootCertStore::empty();
        roots.add(cert.clone()).unwrap();
        let webpki = WebPkiServerVerifier::builder_with_provider(
            Arc::new(roots),
            crate::transport::tls::crypto_provider(),
        )
        .build()
        .unwrap();
        AnchorVerifier::new(webpki, vec![cert.clone()])
    }

    /// The anchor path's own checks (webpki checks the time before it
    /// finds `CA:TRUE`, so a handshake never reaches them with a bad time;
    /// they must hold on their own all the same).
    #[test]
    fn the_anchor_path_checks_time_and_name_itself() {
        let cert = anchor((2020, 1, 1), (2030, 1, 1));
        assert_eq!(
            validity(cert.as_ref()),
            Some((1_577_836_800, 1_893_456_000))
        );
        let v = verifier(&cert);
        let name = ServerName::try_from("localhost").unwrap();
        let at = |secs| UnixTime::since_unix_epoch(std::time::Duration::from_secs(secs));
        assert!(v.verify_anchor(&cert, &name, at(1_700_000_000)).is_ok());
        assert_eq!(
            v.verify_anchor(&cert, &name, at(1_893_456_001))
                .unwrap_err(),
            CertificateError::Expired.into()
        );
        assert_eq!(
            v.verify_anchor(&cert, &name, at(1_577_836_799))
                .unwrap_err(),
            CertificateError::NotValidYet.into()
        );
        let other = ServerName::try_from("example.com").unwrap();
        assert!(matches!(
            v.verify_anchor(&cert, &other, at(1_700_000_000)),
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForNameContext { .. }
            ))
        ));
        // Through the trait: accepted at a time inside its validity.
        assert!(v
            .verify_server_cert(&cert, &[], &name, &[], at(1_700_000_000))
            .is_ok());
    }
}
