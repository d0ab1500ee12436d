//! Where a listing stands, as the run's checkpoint cursor: which `for_each`
//! item, and the position inside it (the vendor's cursor, a page number, an
//! offset or the next link). Pure: given a page's answer, the next position.

use super::manifest::{Pagination, Stop};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The position inside one item's listing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Position {
    Start,
    Cursor(String),
    Page(u64),
    Offset(u64),
    Link(String),
}

/// The run's checkpoint: item index and position, written compactly.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    #[serde(rename = "i")]
    pub item: usize,
    #[serde(rename = "p")]
    pub position: Position,
}

impl Checkpoint {
    pub fn start() -> Self {
        Self {
            item: 0,
            position: Position::Start,
        }
    }

    pub fn parse(text: Option<&str>) -> Result<Self, String> {
        match text {
            None => Ok(Self::start()),
            Some(t) => {
                serde_json::from_str(t).map_err(|e| format!("unreadable checkpoint cursor: {e}"))
            }
        }
    }

    pub fn encode(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// What a page's request needs to know of the position.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PageVars {
    pub cursor: Option<String>,
    pub page: Option<u64>,
    pub offset: Option<u64>,
    pub limit: Option<u64>,
    /// An absolute URL the answer named (link header pagination).
    pub url: Option<String>,
}

/// The request variables for `position` under `pagination`.
pub fn vars(pagination: &Pagination, position: &Position) -> PageVars {
    match (pagination, position) {
        (
            Pagination::PageNumber {
                start, page_size, ..
            },
            p,
        ) => PageVars {
            page: Some(match p {
                Position::Page(n) => *n,
                _ => *start,
            }),
            limit: Some(*page_size),
            ..PageVars::default()
        },
        (Pagination::Offset { page_size, .. }, p) => PageVars {
            offset: Some(match p {
                Position::Offset(n) => *n,
                _ => 0,
            }),
            limit: Some(*page_size),
            ..PageVars::default()
        },
        (_, Position::Cursor(c)) => PageVars {
            cursor: Some(c.clone()),
            ..PageVars::default()
        },
        (_, Position::Link(url)) => PageVars {
            url: Some(url.clone()),
            ..PageVars::default()
        },
        _ => PageVars::default(),
    }
}

/// A page's answer, as pagination reads it.
pub struct Answer<'a> {
    pub body: &'a Value,
    /// (lower-cased name, value) of the response headers.
    pub headers: &'a [(String, String)],
    pub records: usize,
}

impl Answer<'_> {
    fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Whether a page without a total ends the listing by `stop`. More records
/// than a page holds means the API ignored the paging parameters and
/// answered everything: asking again would loop.
fn ended_by(answer: &Answer<'_>, stop: Stop, size: u64) -> bool {
    (answer.records as u64) > size
        || match stop {
            Stop::EmptyPage => answer.records == 0,
            Stop::ShortPage => (answer.records as u64) < size,
        }
}

/// The whole number at an optional body path (a page or record count).
fn body_count(answer: &Answer<'_>, path: Option<&str>) -> Option<u64> {
    path.and_then(|p| super::mapping::value_at(answer.body, p))
        .and_then(Value::as_u64)
}

/// The next cursor the answer names, in its body or else its header.
fn next_cursor(
    answer: &Answer<'_>,
    cursor_path: Option<&str>,
    cursor_header: Option<&str>,
) -> Option<Position> {
    let from_body = cursor_path
        .and_then(|p| super::mapping::value_at(answer.body, p))
        .and_then(|v| match v {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        });
    let from_header = cursor_header
        .and_then(|h| answer.header(h))
        .map(str::to_owned);
    from_body
        .or(from_header)
        .filter(|c| !c.is_empty() && answer.records > 0)
        .map(Position::Cursor)
}

/// The page after `position`, unless the page count or `stop` ends it.
fn next_page(
    answer: &Answer<'_>,
    position: &Position,
    start: u64,
    page_size: u64,
    stop: Stop,
    total_pages_path: Option<&str>,
) -> Option<Position> {
    let page = match position {
        Position::Page(n) => *n,
        _ => start,
    };
    let last = match body_count(answer, total_pages_path) {
        Some(t) => page + 1 - start >= t || answer.records == 0,
        None => ended_by(answer, stop, page_size),
    };
    (!last).then_some(Position::Page(page + 1))
}

/// The offset past this page's records, unless the record count or `stop` ends it.
fn next_offset(
    answer: &Answer<'_>,
    position: &Position,
    page_size: u64,
    stop: Stop,
    total_path: Option<&str>,
) -> Option<Position> {
    let offset = match position {
        Position::Offset(n) => *n,
        _ => 0,
    };
    let next = offset + answer.records as u64;
    let last = match body_count(answer, total_path) {
        Some(t) => next >= t || answer.records == 0,
        None => ended_by(answer, stop, page_size),
    };
    (!last).then_some(Position::Offset(next))
}

/// The position after `position`, or `None` when this item's listing ended.
pub fn next(pagination: &Pagination, position: &Position, answer: &Answer<'_>) -> Option<Position> {
    match pagination {
        Pagination::None => None,
        Pagination::Cursor {
            cursor_path,
            cursor_header,
        } => next_cursor(answer, cursor_path.as_deref(), cursor_header.as_deref()),
        Pagination::PageNumber {
            start,
            page_size,
            stop,
            total_pages_path,
        } => next_page(
            answer,
            position,
            *start,
            *page_size,
            *stop,
            total_pages_path.as_deref(),
        ),
        Pagination::Offset {
            page_size,
            stop,
            total_path,
        } => next_offset(answer, position, *page_size, *stop, total_path.as_deref()),
        Pagination::LinkHeader { rel } => answer
            .header("link")
            .and_then(|link| link_with_rel(link, rel))
            .filter(|_| answer.records > 0)
            .map(Position::Link),
    }
}

/// The URL of the `rel` link in an RFC 8288 `Link` header.
pub fn link_with_rel(header: &str, rel: &str) -> Option<String> {
    header.split(',').find_map(|part| {
        let (url, params) = part.trim().split_once(';')?;
        let url = url.trim().strip_prefix('<')?.strip_suffix('>')?;
        let wanted = params.split(';').any(|p| {
            let p = p.trim();
            p.strip_prefix("rel=")
                .map(|v| v.trim_matches('"'))
                .is_some_and(|v| v.split_whitespace().any(|r| r.eq_ignore_ascii_case(rel)))
        });
        wanted.then(|| url.to_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn answer<'a>(body: &'a Value, headers: &'a [(String, String)], records: usize) -> Answer<'a> {
        Answer {
            body,
            headers,
            records,
        }
    }

    #[test]
    fn cursor_pagination_follows_until_the_cursor_is_gone() {
        let p = Pagination::Cursor {
            cursor_path: Some("meta.next".into()),
            cursor_header: None,
        };
        let body = json!({"meta": {"next": "abc"}});
        assert_eq!(
            next(&p, &Position::Start, &answer(&body, &[], 3)),
            Some(Position::Cursor("abc".into()))
        );
        let last = json!({"meta": {"next": ""}});
        assert_eq!(
            next(&p, &Position::Cursor("abc".into()), &answer(&last, &[], 3)),
            None
        );
    }

    #[test]
    fn page_numbers_stop_on_empty_short_or_counted_pages() {
        let empty = Pagination::PageNumber {
            start: 1,
            page_size: 50,
            stop: Stop::EmptyPage,
            total_pages_path: None,
        };
        let v = json!({});
        assert_eq!(
            next(&empty, &Position::Start, &answer(&v, &[], 10)),
            Some(Position::Page(2))
        );
        assert_eq!(next(&empty, &Position::Page(2), &answer(&v, &[], 0)), None);
        let short = Pagination::PageNumber {
            start: 1,
            page_size: 50,
            stop: Stop::ShortPage,
            total_pages_path: None,
        };
        assert_eq!(next(&short, &Position::Page(3), &answer(&v, &[], 49)), None);
        let counted = Pagination::PageNumber {
            start: 1,
            page_size: 2,
            stop: Stop::EmptyPage,
            total_pages_path: Some("total_pages".into()),
        };
        let body = json!({"total_pages": 2});
        assert_eq!(
            next(&counted, &Position::Start, &answer(&body, &[], 2)),
            Some(Position::Page(2))
        );
        assert_eq!(
            next(&counted, &Position::Page(2), &answer(&body, &[], 2)),
            None
        );
    }

    #[test]
    fn offsets_advance_by_the_records_read() {
        let p = Pagination::Offset {
            page_size: 2,
            stop: Stop::ShortPage,
            total_path: Some("total".into()),
        };
        let body = json!({"total": 5});
        assert_eq!(
            next(&p, &Position::Start, &answer(&body, &[], 2)),
            Some(Position::Offset(2))
        );
        assert_eq!(next(&p, &Position::Offset(4), &answer(&body, &[], 1)), None);
        assert_eq!(vars(&p, &Position::Offset(4)).offset, Some(4));
    }

    #[test]
    fn link_headers_name_the_next_page() {
        let header =
            r#"<https://x.test/a?page=1>; rel="prev", <https://x.test/a?page=3>; rel="next""#;
        assert_eq!(
            link_with_rel(header, "next").as_deref(),
            Some("https://x.test/a?page=3")
        );
        assert_eq!(link_with_rel(header, "last"), None);
        let headers = [("link".to_owned(), header.to_owned())];
        let p = Pagination::LinkHeader { rel: "next".into() };
        assert_eq!(
            next(&p, &Position::Start, &answer(&json!([]), &headers, 0)),
            None
        );
        assert_eq!(
            next(&p, &Position::Start, &answer(&json!([]), &headers, 1)),
            Some(Position::Link("https://x.test/a?page=3".into()))
        );
    }

    #[test]
    fn checkpoints_round_trip() {
        let c = Checkpoint {
            item: 2,
            position: Position::Cursor("x:y".into()),
        };
        assert_eq!(Checkpoint::parse(Some(&c.encode())).unwrap(), c);
        assert_eq!(Checkpoint::parse(None).unwrap(), Checkpoint::start());
        assert!(Checkpoint::parse(Some("nonsense")).is_err());
    }
}
