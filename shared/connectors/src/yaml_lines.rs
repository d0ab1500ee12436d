//! The line of a key in a YAML text, so an error about a path
//! (`streams.catalog.pagination.type`) can point at the line to fix. Reads
//! block-style mappings and sequences as manifests are written; a value in
//! flow style (`{a: 1}`, `[a, b]`) is found at the line of its key.

use super::schema::Seg;

/// The 1-based line where `path` is written, or where its deepest written
/// ancestor is (a missing key is reported at its parent).
pub fn line_of(text: &str, path: &[Seg]) -> usize {
    let mut best = (0usize, 1usize); // (matched depth, line)
                                     // (indent of the entry, its path segment); a sequence's items carry their
                                     // own counters so `- ` lines number themselves.
    let mut stack: Vec<(usize, Seg)> = Vec::new();
    let mut counters: Vec<(usize, usize)> = Vec::new(); // (indent of '-', next index)
    let mut block_indent: Option<usize> = None;
    for (n, raw) in text.lines().enumerate() {
        let line_no = n + 1;
        let trimmed = raw.trim_start();
        let indent = raw.len() - trimmed.len();
        if let Some(b) = block_indent {
            if trimmed.is_empty() || indent > b {
                continue;
            }
            block_indent = None;
        }
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with("---") {
            continue;
        }
        let mut entries: Vec<(usize, Seg, &str)> = Vec::new();
        let mut rest = trimmed;
        let mut col = indent;
        while let Some(after) = rest
            .strip_prefix("- ")
            .or_else(|| (rest == "-").then_some(""))
        {
            counters.retain(|(i, _)| *i <= col);
            let index = match counters.last_mut() {
                Some((i, next)) if *i == col => {
                    *next += 1;
                    *next - 1
                }
                _ => {
                    counters.push((col, 1));
                    0
                }
            };
            entries.push((col, Seg::Index(index), ""));
            let inner = after.trim_start();
            col += rest.len() - inner.len();
            rest = inner;
        }
        if let Some((key, value)) = split_key(rest) {
            entries.push((col, Seg::Key(key), value));
        }
        for (col, seg, value) in entries {
            stack.retain(|(i, _)| *i < col);
            counters.retain(|(i, _)| *i <= col);
            stack.push((col, seg));
            let depth = matched(&stack, path);
            if depth == stack.len() && depth > best.0 {
                best = (depth, line_no);
            }
            let v = value.trim();
            if v.starts_with('|') || v.starts_with('>') {
                block_indent = Some(col);
            }
        }
    }
    best.1
}

/// How many leading segments of `path` the stack spells.
fn matched(stack: &[(usize, Seg)], path: &[Seg]) -> usize {
    stack
        .iter()
        .zip(path)
        .take_while(|((_, a), b)| a == *b)
        .count()
}

/// `key: value` or `key:` (a quoted key keeps what is inside its quotes).
fn split_key(text: &str) -> Option<(String, &str)> {
    let (key, rest) = if let Some(q) = text.chars().next().filter(|c| *c == '"' || *c == '\'') {
        let end = text[1..].find(q)? + 1;
        (text[1..end].to_owned(), &text[end + 1..])
    } else {
        let colon = text
            .find(": ")
            .or_else(|| text.strip_suffix(':').map(str::len))?;
        let key = &text[..colon];
        if key.contains(['{', '[', '"']) {
            return None;
        }
        (key.trim_end().to_owned(), &text[colon..])
    };
    let value = rest.strip_prefix(':')?;
    Some((key, value))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "version: 1\n# a comment\ndocumentation:\n  covers: |\n    text: not a key\n  sources:\n    - one\n    - two\nstreams:\n  catalog:\n    pagination: {type: none}\n    mapping:\n      id: productId\n  orders:\n    request:\n      path: /x\nlist:\n  - name: a\n    path: /a\n  - name: b\n";

    fn key(k: &str) -> Seg {
        Seg::Key(k.into())
    }

    #[test]
    fn keys_are_found_at_their_line() {
        assert_eq!(line_of(TEXT, &[key("version")]), 1);
        assert_eq!(
            line_of(
                TEXT,
                &[key("streams"), key("catalog"), key("mapping"), key("id")]
            ),
            13
        );
        assert_eq!(
            line_of(
                TEXT,
                &[key("streams"), key("orders"), key("request"), key("path")]
            ),
            16
        );
        assert_eq!(
            line_of(TEXT, &[key("documentation"), key("sources"), Seg::Index(1)]),
            8
        );
        assert_eq!(
            line_of(TEXT, &[key("list"), Seg::Index(1), key("name")]),
            20
        );
        assert_eq!(
            line_of(TEXT, &[key("list"), Seg::Index(0), key("path")]),
            19
        );
    }

    #[test]
    fn missing_or_flow_values_point_at_their_parent() {
        let flow = [
            key("streams"),
            key("catalog"),
            key("pagination"),
            key("type"),
        ];
        assert_eq!(line_of(TEXT, &flow), 11);
        assert_eq!(
            line_of(TEXT, &[key("streams"), key("catalog"), key("records")]),
            10
        );
        // A block scalar's lines are not keys.
        assert_eq!(
            line_of(TEXT, &[key("documentation"), key("covers"), key("text")]),
            4
        );
    }
}
