//! Time as synchub spells it: RFC 3339 in UTC with exactly three fraction
//! digits (one spelling per instant, so the text sorts as the time does),
//! Unix milliseconds for comparisons, and the wall clock.

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// Events stamped further ahead than this would win every race until then.
pub const MAX_FUTURE_SKEW_MILLIS: i64 = 60 * 60 * 1000;

/// Parses an RFC 3339 timestamp into the instant and its Unix millis; the
/// error is the rule it broke.
pub fn parse_rfc3339_millis(text: &str) -> Result<(OffsetDateTime, i64), &'static str> {
    let t = OffsetDateTime::parse(text, &Rfc3339).map_err(|_| {
        "must be an RFC 3339 timestamp with a UTC offset, e.g. 2026-06-01T10:00:00Z"
    })?;
    let millis =
        i64::try_from(t.unix_timestamp_nanos() / 1_000_000).map_err(|_| "is out of range")?;
    Ok((t, millis))
}

/// The canonical spelling of an instant.
pub fn canonical_time(t: OffsetDateTime) -> String {
    const FORMAT: &[time::format_description::BorrowedFormatItem<'static>] = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    let t = t.to_offset(time::UtcOffset::UTC);
    t.format(FORMAT)
        .unwrap_or_else(|_| t.unix_timestamp().to_string())
}

/// Unix milliseconds now.
pub fn now_millis() -> i64 {
    (OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

/// The canonical spelling of now.
pub fn now_rfc3339() -> String {
    canonical_time(OffsetDateTime::now_utc())
}

/// The DynamoDB TTL attribute (Unix seconds) of a record kept for `ttl` from now.
pub fn expiry_after(ttl: std::time::Duration) -> i64 {
    now_millis() / 1000 + ttl.as_secs() as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_text_sorts_as_the_time_does() {
        let a = OffsetDateTime::from_unix_timestamp_nanos(1_780_000_000_420_000_000).unwrap();
        let b = OffsetDateTime::from_unix_timestamp_nanos(1_780_000_000_425_000_000).unwrap();
        assert_eq!(canonical_time(a), "2026-05-28T20:26:40.420Z");
        assert!(canonical_time(a) < canonical_time(b));
    }

    #[test]
    fn parsing_names_the_rule_and_keeps_the_instant() {
        assert!(parse_rfc3339_millis("yesterday").is_err());
        let (_, m) = parse_rfc3339_millis("1970-01-01T00:00:01.5+00:00").unwrap();
        assert_eq!(m, 1500);
    }
}
