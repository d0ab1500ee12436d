//! Each provider's webhook signature, checked before anything is read:
//!
//! - Shopify signs the raw body: `X-Shopify-Hmac-Sha256` is the base64
//!   HMAC-SHA256 of it under the app's client secret.
//! - Square signs the notification URL followed by the raw body:
//!   `x-square-hmacsha256-signature` is the base64 HMAC-SHA256 of both under
//!   the subscription's signature key. The URL is the one configured with
//!   Square (a tenant setting), not the one the function sees.

use super::Provider;
use crate::domain::webhook_signature::SignatureError;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// A provider signing key (Shopify client secret, Square signature key).
/// Used as the raw bytes of its text, as both providers do.
#[derive(Clone)]
pub struct ProviderKey(Vec<u8>);

impl std::fmt::Debug for ProviderKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ProviderKey(<redacted>)")
    }
}

impl ProviderKey {
    pub fn new(text: &str) -> Self {
        Self(text.as_bytes().to_vec())
    }

    /// One or more keys separated by white space (rotation: old and new).
    pub fn parse_list(value: &str) -> Result<Vec<Self>, &'static str> {
        let keys: Vec<Self> = value.split_whitespace().map(Self::new).collect();
        if keys.is_empty() {
            return Err("no signing key configured");
        }
        Ok(keys)
    }

    fn mac(&self, parts: &[&[u8]]) -> Hmac<Sha256> {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC accepts keys of any length");
        for part in parts {
            mac.update(part);
        }
        mac
    }

    /// The header value a sender would produce for `parts` signed in order.
    pub fn sign(&self, parts: &[&[u8]]) -> String {
        B64.encode(self.mac(parts).finalize().into_bytes())
    }
}

/// What each provider signs: Shopify the body, Square the URL then the body.
pub fn signed_parts<'a>(
    provider: Provider,
    notification_url: &'a str,
    body: &'a [u8],
) -> Vec<&'a [u8]> {
    match provider {
        Provider::Shopify => vec![body],
        Provider::Square => vec![notification_url.as_bytes(), body],
    }
}

/// Checks the signature header's shape (before any key is looked up).
pub fn check_signature_header(
    provider: Provider,
    header: Option<&str>,
) -> Result<[u8; 32], SignatureError> {
    let name = provider.signature_header();
    let value = header
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .ok_or(SignatureError::MissingHeader(name))?;
    if value.len() > crate::domain::limits::PROVIDER_SIGNATURE_BYTES {
        return Err(SignatureError::MalformedHeader {
            header: name,
            why: "must be a 32-byte HMAC-SHA256",
        });
    }
    let bytes = B64
        .decode(value)
        .map_err(|_| SignatureError::MalformedHeader {
            header: name,
            why: "must be base64",
        })?;
    bytes
        .try_into()
        .map_err(|_| SignatureError::MalformedHeader {
            header: name,
            why: "must be a 32-byte HMAC-SHA256",
        })
}

/// Succeeds when the tag matches any of the keys (compared in constant time).
pub fn verify(keys: &[ProviderKey], parts: &[&[u8]], tag: &[u8; 32]) -> Result<(), SignatureError> {
    if keys
        .iter()
        .any(|key| key.mac(parts).verify_slice(tag).is_ok())
    {
        Ok(())
    } else {
        Err(SignatureError::NoValidSignature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn shopify_signs_the_body_and_square_the_url_then_the_body() {
        let key = ProviderKey::new("hush");
        let body = br#"{"id":1}"#;
        let shopify = key.sign(&signed_parts(Provider::Shopify, "ignored", body));
        let tag = check_signature_header(Provider::Shopify, Some(&shopify)).unwrap();
        assert!(verify(
            std::slice::from_ref(&key),
            &signed_parts(Provider::Shopify, "", body),
            &tag
        )
        .is_ok());

        let url = "https://hooks.example.com/webhooks/square/acme";
        let square = key.sign(&signed_parts(Provider::Square, url, body));
        let tag = check_signature_header(Provider::Square, Some(&square)).unwrap();
        assert!(verify(
            std::slice::from_ref(&key),
            &signed_parts(Provider::Square, url, body),
            &tag
        )
        .is_ok());
        // The same body behind another URL does not verify.
        let other = signed_parts(
            Provider::Square,
            "https://abc.execute-api.us-east-1.amazonaws.com/webhooks/square/acme",
            body,
        );
        assert_eq!(
            verify(&[key], &other, &tag),
            Err(SignatureError::NoValidSignature)
        );
    }

    #[test]
    fn signature_headers_of_the_wrong_shape_are_named() {
        for (value, expected) in [
            (None, SignatureError::MissingHeader("x-shopify-hmac-sha256")),
            (
                Some("  "),
                SignatureError::MissingHeader("x-shopify-hmac-sha256"),
            ),
            (
                Some("not base64!"),
                SignatureError::MalformedHeader {
                    header: "x-shopify-hmac-sha256",
                    why: "must be base64",
                },
            ),
            (
                Some("c2hvcnQ="),
                SignatureError::MalformedHeader {
                    header: "x-shopify-hmac-sha256",
                    why: "must be a 32-byte HMAC-SHA256",
                },
            ),
        ] {
            assert_eq!(
                check_signature_header(Provider::Shopify, value),
                Err(expected),
                "{value:?}"
            );
        }
    }

    #[test]
    fn a_rotated_key_list_accepts_either_key() {
        let keys = ProviderKey::parse_list("old-secret new-secret").unwrap();
        let tag = check_signature_header(
            Provider::Shopify,
            Some(&ProviderKey::new("new-secret").sign(&[b"x"])),
        )
        .unwrap();
        assert!(verify(&keys, &[b"x"], &tag).is_ok());
        assert!(ProviderKey::parse_list("  ").is_err());
    }

    proptest! {
        /// Any change to the body, the URL or the key breaks the signature.
        #[test]
        fn any_tampering_breaks_the_square_signature(body in proptest::collection::vec(any::<u8>(), 0..200), flip in any::<usize>(), url_suffix in "[a-z]{0,5}") {
            let key = ProviderKey::new("signature-key");
            let url = "https://hooks.example.com/square";
            let tag = check_signature_header(Provider::Square, Some(&key.sign(&signed_parts(Provider::Square, url, &body)))).unwrap();
            prop_assert!(verify(std::slice::from_ref(&key), &signed_parts(Provider::Square, url, &body), &tag).is_ok());
            if !body.is_empty() {
                let mut tampered = body.clone();
                let i = flip % tampered.len();
                tampered[i] ^= 1;
                prop_assert!(verify(std::slice::from_ref(&key), &signed_parts(Provider::Square, url, &tampered), &tag).is_err());
            }
            if !url_suffix.is_empty() {
                let other = format!("{url}{url_suffix}");
                prop_assert!(verify(std::slice::from_ref(&key), &signed_parts(Provider::Square, &other, &body), &tag).is_err());
            }
            prop_assert!(verify(&[ProviderKey::new("other-key")], &signed_parts(Provider::Square, url, &body), &tag).is_err());
        }
    }
}
