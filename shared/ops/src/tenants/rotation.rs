//! Rotating a tenant's webhook signing secret: the new secret goes in beside
//! the old ones, which keep verifying until the overlap the operator chose
//! ends (each carries its own expiry, honoured by ingest's secret store), so
//! a supplier can switch at any moment within it. Pure.

use std::time::Duration;
use synchub_core::domain::ValidationError;
use synchub_core::ports::tenant_admin::SigningSecret;

/// The longest overlap allowed: an old secret should not live on for long.
pub const MAX_OVERLAP: Duration = Duration::from_secs(30 * 86_400);

/// `30s`, `90m`, `24h`, `7d` (or `0`): how long the old secrets keep verifying.
pub fn parse_overlap(text: &str) -> Result<Duration, ValidationError> {
    let rule = "must be a whole number with a unit s, m, h or d (e.g. 24h), at most 30d";
    let text = text.trim();
    let invalid = || ValidationError::new("overlap", rule);
    if text == "0" {
        return Ok(Duration::ZERO);
    }
    let unit_at = text.len().checked_sub(1).ok_or_else(invalid)?;
    let (number, unit) = text.split_at(unit_at);
    if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) || number.len() > 8 {
        return Err(invalid());
    }
    let number: u64 = number.parse().map_err(|_| invalid())?;
    let seconds = match unit {
        "s" => number,
        "m" => number * 60,
        "h" => number * 3_600,
        "d" => number * 86_400,
        _ => return Err(invalid()),
    };
    let overlap = Duration::from_secs(seconds);
    if overlap > MAX_OVERLAP {
        return Err(invalid());
    }
    Ok(overlap)
}

/// The secrets after a rotation at `now_millis`: the new one first (it does
/// not expire), then every old one still verifying, ending at the latest when
/// the overlap does (an earlier end is kept). Expired ones are dropped.
pub fn rotate(
    existing: &[SigningSecret],
    new_secret: &str,
    now_millis: i64,
    overlap: Duration,
) -> Vec<SigningSecret> {
    let end = now_millis.saturating_add(overlap.as_millis().min(i64::MAX as u128) as i64);
    let mut secrets = vec![SigningSecret {
        value: new_secret.to_owned(),
        expires_millis: None,
    }];
    for old in live(existing, now_millis) {
        if old.value == new_secret {
            continue;
        }
        let expires = old.expires_millis.map_or(end, |e| e.min(end));
        if expires > now_millis {
            secrets.push(SigningSecret {
                value: old.value.clone(),
                expires_millis: Some(expires),
            });
        }
    }
    secrets
}

/// Ends a running overlap now: only the secrets without an expiry remain.
pub fn finish(existing: &[SigningSecret]) -> Vec<SigningSecret> {
    existing
        .iter()
        .filter(|s| s.expires_millis.is_none())
        .cloned()
        .collect()
}

/// The secrets that verify at `now_millis`.
pub fn live(secrets: &[SigningSecret], now_millis: i64) -> impl Iterator<Item = &SigningSecret> {
    secrets
        .iter()
        .filter(move |s| s.expires_millis.is_none_or(|end| now_millis < end))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn secret(i: usize, expires_millis: Option<i64>) -> SigningSecret {
        SigningSecret {
            value: format!("whsec_{i:032}"),
            expires_millis,
        }
    }

    #[test]
    fn overlaps_are_read_in_their_units_and_bounded() {
        assert_eq!(parse_overlap("24h").unwrap(), Duration::from_secs(86_400));
        assert_eq!(parse_overlap("90m").unwrap(), Duration::from_secs(5_400));
        assert_eq!(parse_overlap("2s").unwrap(), Duration::from_secs(2));
        assert_eq!(parse_overlap("30d").unwrap(), MAX_OVERLAP);
        assert_eq!(parse_overlap("0").unwrap(), Duration::ZERO);
        for bad in [
            "",
            "h",
            "24",
            "24x",
            "-1h",
            "1.5h",
            "31d",
            "1 h",
            "99999999999d",
        ] {
            assert_eq!(parse_overlap(bad).unwrap_err().field, "overlap", "{bad}");
        }
    }

    #[test]
    fn finishing_keeps_only_the_current_secret() {
        let secrets = [secret(1, None), secret(2, Some(10)), secret(3, Some(99))];
        assert_eq!(finish(&secrets), [secret(1, None)]);
    }

    proptest! {
        /// During the overlap the new secret and every old one still verifying
        /// verify; from its end on, only the new one does.
        #[test]
        fn old_secrets_verify_until_the_overlap_ends_and_then_only_the_new_one(
            old in prop::collection::vec(prop::option::of(0i64..2_000_000), 0..4),
            now in 0i64..1_000_000,
            overlap_ms in 0u64..1_000_000,
            probe in 0i64..3_000_000,
        ) {
            let existing: Vec<SigningSecret> = old.iter().enumerate().map(|(i, e)| secret(i, *e)).collect();
            let new = "whsec_NEW";
            let overlap = Duration::from_millis(overlap_ms);
            let rotated = rotate(&existing, new, now, overlap);
            let at = now + probe - 1_000_000;
            let verifying: Vec<&str> = live(&rotated, at).map(|s| s.value.as_str()).collect();
            prop_assert!(verifying.contains(&new));
            let end = now + overlap_ms as i64;
            for (i, e) in old.iter().enumerate() {
                let value = secret(i, None).value;
                let was_live_now = e.is_none_or(|e| now < e);
                let expected = at >= now && was_live_now && at < end && e.is_none_or(|e| at < e);
                if at >= now {
                    prop_assert_eq!(verifying.contains(&value.as_str()), expected, "secret {} at {}", i, at);
                }
            }
            if at >= end {
                prop_assert_eq!(verifying, vec![new]);
            }
        }
    }
}
