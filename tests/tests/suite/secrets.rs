//! No secret is checked in: every tracked file is searched for values shaped
//! like a real credential (a Standard Webhooks `whsec_` key with real-looking
//! content, AWS access keys and secret keys, Shopify, Square and HubSpot
//! tokens, private keys). Test fixtures may hold made-up ones (files under
//! `tests/` or `events/`, test modules), and published example values are
//! allowed anywhere; anything else fails with the file and line.

use base64::Engine;
use proptest::prelude::*;
use std::path::Path;
use synchub_tests::repo_root;

/// Example values published by their owners, safe to show anywhere.
const PUBLISHED_EXAMPLES: &[&str] = &[
    // The Standard Webhooks specification's example secret.
    "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    // AWS's documentation examples.
    "AKIAIOSFODNN7EXAMPLE",
    "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
];

fn is_base64(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '=')
}

/// Real-looking: long enough and not a run of one or two characters.
fn random_looking(token: &str, min_len: usize) -> bool {
    let distinct: std::collections::BTreeSet<char> = token.chars().collect();
    token.len() >= min_len && distinct.len() >= 8
}

/// The token of `accept`ed characters starting at `at`.
fn token_at(line: &str, at: usize, accept: fn(char) -> bool) -> &str {
    let rest = &line[at..];
    let end = rest.find(|c: char| !accept(c)).unwrap_or(rest.len());
    &rest[..end]
}

/// A credential's shape: its prefix, what it is, the characters of its
/// body and its least length.
type Shape = (&'static str, &'static str, fn(char) -> bool, usize);

/// Every secret-shaped value on a line, with what it looks like.
fn secrets_in(line: &str) -> Vec<(&'static str, String)> {
    let mut found = Vec::new();
    let prefixed: [Shape; 8] = [
        ("whsec_", "webhook signing secret", is_base64, 24),
        (
            "AKIA",
            "AWS access key id",
            |c| c.is_ascii_uppercase() || c.is_ascii_digit(),
            20,
        ),
        (
            "ASIA",
            "AWS temporary access key id",
            |c| c.is_ascii_uppercase() || c.is_ascii_digit(),
            20,
        ),
        (
            "shpat_",
            "Shopify access token",
            |c| c.is_ascii_hexdigit(),
            38,
        ),
        (
            "shpss_",
            "Shopify app secret",
            |c| c.is_ascii_hexdigit(),
            38,
        ),
        (
            "shpca_",
            "Shopify custom app token",
            |c| c.is_ascii_hexdigit(),
            38,
        ),
        (
            "EAAA",
            "Square access token",
            |c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'),
            60,
        ),
        (
            "pat-na1-",
            "HubSpot private app token",
            |c| c.is_ascii_hexdigit() || c == '-',
            44,
        ),
    ];
    for (prefix, what, accept, min_len) in prefixed {
        for (at, _) in line.match_indices(prefix) {
            let token = token_at(line, at + prefix.len(), accept);
            let whole = format!("{prefix}{token}");
            if random_looking(&whole, min_len) {
                found.push((what, whole));
            }
        }
    }
    // An AWS secret access key: 40 base64 characters on a line about a secret.
    if line.to_ascii_lowercase().contains("secret") {
        let mut at = 0;
        while at < line.len() {
            let token = token_at(line, at, |c| {
                c.is_ascii_alphanumeric() || matches!(c, '+' | '/')
            });
            if token.len() == 40
                && random_looking(token, 40)
                && token.chars().any(|c| c.is_ascii_digit())
                && token.chars().any(|c| c.is_ascii_lowercase())
                && token.chars().any(|c| c.is_ascii_uppercase())
            {
                found.push(("AWS secret access key", token.to_owned()));
            }
            at += token.len().max(1);
            while at < line.len() && !line.is_char_boundary(at) {
                at += 1;
            }
        }
    }
    if line.contains("PRIVATE KEY-----") {
        found.push(("private key", line.trim().to_owned()));
    }
    found
        .into_iter()
        .filter(|(_, v)| !PUBLISHED_EXAMPLES.contains(&v.as_str()))
        .collect()
}

/// Test fixtures: the end-to-end tests and sample events, and test code in
/// the crates (test files, and what follows a file's first `#[cfg(test)]`).
fn is_fixture(path: &str) -> bool {
    path.starts_with("tests/")
        || path.starts_with("events/")
        || path.ends_with("tests.rs")
        || path.contains("/tests/")
        || path.contains("use_case_tests/")
}

/// Every tracked file of the repository.
fn tracked_files() -> Vec<String> {
    let out = std::process::Command::new("git")
        .args(["ls-files", "-z"])
        .current_dir(repo_root())
        .output()
        .expect("git lists the tracked files");
    assert!(out.status.success(), "git ls-files failed");
    String::from_utf8_lossy(&out.stdout)
        .split('\0')
        .filter(|p| !p.is_empty())
        .map(str::to_owned)
        .collect()
}

#[test]
fn no_tracked_file_holds_a_real_looking_secret_outside_test_fixtures() {
    let root = repo_root();
    let files = tracked_files();
    assert!(files.len() > 50, "the repository's files are listed");
    let mut findings = Vec::new();
    for path in &files {
        if is_fixture(path) {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(root.join(Path::new(path))) else {
            continue; // binary, or deleted in the working tree
        };
        for (n, line) in text.lines().enumerate() {
            if line.contains("#[cfg(test)]") {
                break;
            }
            for (what, value) in secrets_in(line) {
                findings.push(format!("{path}:{}: {what} {value}", n + 1));
            }
        }
    }
    assert!(
        findings.is_empty(),
        "secret-shaped values outside test fixtures (use a made-up value in a test, or an environment variable):\n{}",
        findings.join("\n")
    );
}

proptest! {
    #[test]
    fn real_looking_credentials_are_found_and_placeholders_are_not(
        key in prop::collection::vec(any::<u8>(), 24..48),
        id in "[A-Z0-9]{16}",
        hex in "[0-9a-f]{32}",
        context in "[a-z =:\"]{0,12}",
    ) {
        let encoded = base64::engine::general_purpose::STANDARD.encode(&key);
        let prefixes = ["whsec", "AKIA", "shpat"];
        let real = [
            format!("{}_{encoded}", prefixes[0]),
            format!("{}{id}", prefixes[1]),
            format!("{}_{hex}", prefixes[2]),
        ];
        for value in &real {
            let line = format!("{context}{value}\"");
            // Made of random bytes, so distinct enough unless the draw is degenerate.
            let distinct: std::collections::BTreeSet<char> = value.chars().collect();
            if distinct.len() >= 8 {
                prop_assert!(!secrets_in(&line).is_empty(), "{line}");
            }
        }
        for placeholder in ["whsec_<base64>", "whsec_...", "AKIA...", "shpat_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"] {
            prop_assert!(secrets_in(&format!("{context}{placeholder}")).is_empty(), "{placeholder}");
        }
    }
}
