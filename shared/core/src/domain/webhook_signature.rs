//! Standard Webhooks signatures (<https://www.standardwebhooks.com/>):
//! `webhook-signature: v1,<base64 HMAC-SHA256("{id}.{timestamp}.{body}")>`,
//! several space-separated for key rotation, secrets spelled `whsec_<base64>`,
//! timestamps more than five minutes off refused, MACs compared in constant time.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

pub const TOLERANCE_SECONDS: i64 = 5 * 60;
pub const MAX_SIGNATURES: usize = 16;

/// Why a delivery is not authenticated. Every variant is an `AUTH_ERROR`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("missing {0} header")]
    MissingHeader(&'static str),
    #[error("malformed {header} header: {why}")]
    MalformedHeader {
        header: &'static str,
        why: &'static str,
    },
    #[error("webhook-timestamp is more than 5 minutes away from the current time")]
    StaleTimestamp,
    /// Also the answer for an unknown tenant, so the two cannot be told apart.
    #[error("no valid signature for this tenant")]
    NoValidSignature,
}

/// A tenant's signing key, decoded from `whsec_<base64>`.
#[derive(Clone)]
pub struct WebhookSecret(Vec<u8>);

impl std::fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookSecret(<redacted>)")
    }
}

impl WebhookSecret {
    pub fn parse(value: &str) -> Result<Self, &'static str> {
        let encoded = value
            .trim()
            .strip_prefix("whsec_")
            .ok_or("secret must start with whsec_")?;
        let key = B64
            .decode(encoded)
            .map_err(|_| "secret is not valid base64 after whsec_")?;
        if key.len() < 16 {
            return Err("secret must hold at least 16 bytes");
        }
        Ok(Self(key))
    }

    /// Parses one or more secrets separated by white space or commas (rotation).
    pub fn parse_list(value: &str) -> Result<Vec<Self>, &'static str> {
        let secrets = value
            .split(|c: char| c.is_whitespace() || c == ',')
            .filter(|s| !s.is_empty())
            .map(Self::parse)
            .collect::<Result<Vec<_>, _>>()?;
        if secrets.is_empty() {
            return Err("no secret configured");
        }
        Ok(secrets)
    }

    fn mac(&self, id: &str, timestamp: &str, body: &[u8]) -> Hmac<Sha256> {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC accepts keys of any length");
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.as_bytes());
        mac.update(b".");
        mac.update(body);
        mac
    }

    /// The `webhook-signature` value a sender would produce (used by the demo and tests).
    pub fn sign(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        let tag = self
            .mac(id, &timestamp.to_string(), body)
            .finalize()
            .into_bytes();
        format!("v1,{}", B64.encode(tag))
    }
}

/// The three headers of a delivery, as received.
#[derive(Debug, Clone, Copy)]
pub struct SignedHeaders<'a> {
    pub id: Option<&'a str>,
    pub timestamp: Option<&'a str>,
    pub signature: Option<&'a str>,
}

/// The headers' shape, checked before any secret is looked up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedHeaders {
    pub id: String,
    pub timestamp: i64,
    timestamp_text: String,
    signatures: Vec<[u8; 32]>,
}

impl SignedHeaders<'_> {
    /// Checks presence, shape and freshness. `now` is unix seconds.
    pub fn check(&self, now: i64) -> Result<CheckedHeaders, SignatureError> {
        let id = self
            .id
            .ok_or(SignatureError::MissingHeader("webhook-id"))?
            .trim();
        if id.is_empty() || id.len() > 256 || id.chars().any(|c| c.is_control()) {
            return Err(SignatureError::MalformedHeader {
                header: "webhook-id",
                why: "must be 1 to 256 printable characters",
            });
        }
        let ts_text = self
            .timestamp
            .ok_or(SignatureError::MissingHeader("webhook-timestamp"))?
            .trim();
        let timestamp = unix_seconds(ts_text)?;
        if (now - timestamp).abs() > TOLERANCE_SECONDS {
            return Err(SignatureError::StaleTimestamp);
        }
        let header = self
            .signature
            .ok_or(SignatureError::MissingHeader("webhook-signature"))?;
        Ok(CheckedHeaders {
            id: id.to_owned(),
            timestamp,
            timestamp_text: ts_text.to_owned(),
            signatures: v1_signatures(header)?,
        })
    }
}

fn unix_seconds(text: &str) -> Result<i64, SignatureError> {
    let malformed = SignatureError::MalformedHeader {
        header: "webhook-timestamp",
        why: "must be unix seconds",
    };
    if text.is_empty() || text.len() > 12 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(malformed);
    }
    text.parse().map_err(|_| malformed)
}

/// The `v1` signatures of a `webhook-signature` header (space-separated
/// `version,base64` entries; other versions are allowed and skipped).
fn v1_signatures(header: &str) -> Result<Vec<[u8; 32]>, SignatureError> {
    let malformed = |why| SignatureError::MalformedHeader {
        header: "webhook-signature",
        why,
    };
    if header.len() > super::limits::SIGNATURE_HEADER_BYTES {
        return Err(malformed("must be at most 2048 bytes"));
    }
    let mut signatures = Vec::new();
    for entry in header.split(' ').filter(|s| !s.is_empty()) {
        let (version, value) = entry
            .split_once(',')
            .ok_or(malformed("each signature must look like v1,<base64>"))?;
        if version != "v1" {
            continue; // other schemes (e.g. v1a) are allowed beside v1 and not ours to check
        }
        let bytes = B64
            .decode(value)
            .map_err(|_| malformed("v1 signature is not valid base64"))?;
        let tag: [u8; 32] = bytes
            .try_into()
            .map_err(|_| malformed("v1 signature must be 32 bytes"))?;
        signatures.push(tag);
        if signatures.len() > MAX_SIGNATURES {
            return Err(malformed("too many signatures"));
        }
    }
    if signatures.is_empty() {
        return Err(malformed("no v1 signature"));
    }
    Ok(signatures)
}

impl CheckedHeaders {
    /// Succeeds when any signature matches any of the tenant's secrets.
    pub fn verify(&self, secrets: &[WebhookSecret], body: &[u8]) -> Result<(), SignatureError> {
        for secret in secrets {
            let mac = secret.mac(&self.id, &self.timestamp_text, body);
            // verify_slice compares in constant time.
            if self
                .signatures
                .iter()
                .any(|tag| mac.clone().verify_slice(tag).is_ok())
            {
                return Ok(());
            }
        }
        Err(SignatureError::NoValidSignature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    // The example from the Standard Webhooks reference libraries.
    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const TS: i64 = 1614265330;
    const BODY: &[u8] = br#"{"test": 2432232314}"#;
    const EXPECTED: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    fn headers<'a>(id: &'a str, ts: &'a str, sig: &'a str) -> SignedHeaders<'a> {
        SignedHeaders {
            id: Some(id),
            timestamp: Some(ts),
            signature: Some(sig),
        }
    }

    fn verify(sig: &str, body: &[u8], now: i64) -> Result<(), SignatureError> {
        let secrets = WebhookSecret::parse_list(SECRET).unwrap();
        headers(ID, &TS.to_string(), sig)
            .check(now)?
            .verify(&secrets, body)
    }

    #[test]
    fn reference_vector_signs_and_verifies() {
        let secret = WebhookSecret::parse(SECRET).unwrap();
        assert_eq!(secret.sign(ID, TS, BODY), EXPECTED);
        assert_eq!(verify(EXPECTED, BODY, TS), Ok(()));
    }

    #[test]
    fn wrong_secret_tampered_body_and_stale_or_future_timestamps_are_refused() {
        let other = WebhookSecret::parse("whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAA").unwrap();
        let checked = headers(ID, &TS.to_string(), EXPECTED).check(TS).unwrap();
        assert_eq!(
            checked.verify(&[other], BODY),
            Err(SignatureError::NoValidSignature)
        );
        assert_eq!(
            verify(EXPECTED, br#"{"test": 2432232315}"#, TS),
            Err(SignatureError::NoValidSignature)
        );
        assert_eq!(
            verify(EXPECTED, BODY, TS + TOLERANCE_SECONDS + 1),
            Err(SignatureError::StaleTimestamp)
        );
        assert_eq!(
            verify(EXPECTED, BODY, TS - TOLERANCE_SECONDS - 1),
            Err(SignatureError::StaleTimestamp)
        );
        assert_eq!(verify(EXPECTED, BODY, TS + TOLERANCE_SECONDS), Ok(()));
    }

    #[test]
    fn any_one_valid_signature_among_several_is_enough() {
        let bad = "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=";
        assert_eq!(
            verify(&format!("{bad} v1a,abc {EXPECTED}"), BODY, TS),
            Ok(())
        );
        assert_eq!(verify(bad, BODY, TS), Err(SignatureError::NoValidSignature));
    }

    #[test]
    fn a_rotated_secret_list_accepts_either_key() {
        let new = WebhookSecret::parse("whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAA").unwrap();
        let sig = new.sign(ID, TS, BODY);
        let secrets =
            WebhookSecret::parse_list(&format!("{SECRET} whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAA"))
                .unwrap();
        assert_eq!(
            headers(ID, &TS.to_string(), &sig)
                .check(TS)
                .unwrap()
                .verify(&secrets, BODY),
            Ok(())
        );
    }

    #[allow(clippy::too_many_lines, reason = "a table of bad inputs, one per line")]
    #[test]
    fn malformed_headers_of_every_shape_are_named() {
        let ts = TS.to_string();
        let m = |header, why| Err(SignatureError::MalformedHeader { header, why });
        let cases: Vec<(SignedHeaders, Result<CheckedHeaders, SignatureError>)> = vec![
            (
                SignedHeaders {
                    id: None,
                    timestamp: Some(&ts),
                    signature: Some(EXPECTED),
                },
                Err(SignatureError::MissingHeader("webhook-id")),
            ),
            (
                SignedHeaders {
                    id: Some(ID),
                    timestamp: None,
                    signature: Some(EXPECTED),
                },
                Err(SignatureError::MissingHeader("webhook-timestamp")),
            ),
            (
                SignedHeaders {
                    id: Some(ID),
                    timestamp: Some(&ts),
                    signature: None,
                },
                Err(SignatureError::MissingHeader("webhook-signature")),
            ),
            (
                headers("", &ts, EXPECTED),
                m("webhook-id", "must be 1 to 256 printable characters"),
            ),
            (
                headers("a\u{7}b", &ts, EXPECTED),
                m("webhook-id", "must be 1 to 256 printable characters"),
            ),
            (
                headers(ID, "", EXPECTED),
                m("webhook-timestamp", "must be unix seconds"),
            ),
            (
                headers(ID, "-1614265330", EXPECTED),
                m("webhook-timestamp", "must be unix seconds"),
            ),
            (
                headers(ID, "1614265330.5", EXPECTED),
                m("webhook-timestamp", "must be unix seconds"),
            ),
            (
                headers(ID, "2021-02-25T15:02:10Z", EXPECTED),
                m("webhook-timestamp", "must be unix seconds"),
            ),
            (
                headers(ID, "99999999999999999999", EXPECTED),
                m("webhook-timestamp", "must be unix seconds"),
            ),
            (
                headers(ID, &ts, ""),
                m("webhook-signature", "no v1 signature"),
            ),
            (
                headers(ID, &ts, "   "),
                m("webhook-signature", "no v1 signature"),
            ),
            (
                headers(ID, &ts, "v1a,abc"),
                m("webhook-signature", "no v1 signature"),
            ),
            (
                headers(ID, &ts, "g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="),
                m(
                    "webhook-signature",
                    "each signature must look like v1,<base64>",
                ),
            ),
            (
                headers(ID, &ts, "v1,"),
                m("webhook-signature", "v1 signature must be 32 bytes"),
            ),
            (
                headers(ID, &ts, "v1,!!!notbase64"),
                m("webhook-signature", "v1 signature is not valid base64"),
            ),
            (
                headers(ID, &ts, "v1,AAAA"),
                m("webhook-signature", "v1 signature must be 32 bytes"),
            ),
        ];
        for (h, expected) in cases {
            assert_eq!(h.check(TS), expected, "{h:?}");
        }
    }

    #[test]
    fn secrets_are_parsed_strictly_and_never_printed() {
        assert!(WebhookSecret::parse("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").is_err());
        assert!(WebhookSecret::parse("whsec_***").is_err());
        assert!(WebhookSecret::parse("whsec_AAAA").is_err());
        assert!(WebhookSecret::parse_list(" , ").is_err());
        assert_eq!(
            format!("{:?}", WebhookSecret::parse(SECRET).unwrap()),
            "WebhookSecret(<redacted>)"
        );
    }

    proptest! {
        #[test]
        fn check_never_panics_on_arbitrary_headers(id in "\\PC{0,40}", ts in "\\PC{0,20}", sig in "\\PC{0,120}", now in any::<i64>()) {
            let _ = SignedHeaders { id: Some(&id), timestamp: Some(&ts), signature: Some(&sig) }.check(now.clamp(0, i64::MAX / 2));
        }

        #[test]
        fn a_signature_verifies_only_for_the_exact_body(body in prop::collection::vec(any::<u8>(), 0..200), flip in any::<prop::sample::Index>()) {
            let secret = WebhookSecret::parse(SECRET).unwrap();
            let sig = secret.sign(ID, TS, &body);
            let checked = headers(ID, &TS.to_string(), &sig).check(TS).unwrap();
            prop_assert_eq!(checked.verify(std::slice::from_ref(&secret), &body), Ok(()));
            if !body.is_empty() {
                let mut tampered = body.clone();
                let i = flip.index(tampered.len());
                tampered[i] ^= 0x01;
                prop_assert_eq!(checked.verify(&[secret], &tampered), Err(SignatureError::NoValidSignature));
            }
        }
    }
}
