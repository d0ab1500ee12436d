//! The connector manifest (format version 1) as typed values. The checked-in
//! JSON Schema (`connectors/manifest.schema.json`) is the format's contract;
//! these types are what the engine runs once a manifest passed it.

use serde::Deserialize;
use std::collections::BTreeMap;
use synchub_model::DataType;

/// The only manifest format version this engine runs.
pub const FORMAT_VERSION: u64 = 1;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub version: u64,
    /// The connector's name: the file's stem, the tenant setting's
    /// `connector`, the source of its changes.
    pub name: String,
    pub title: String,
    pub documentation: Documentation,
    /// Base URL per environment (`production` is required).
    pub environments: BTreeMap<String, String>,
    /// The credential names a tenant's stored secret must carry.
    #[serde(default)]
    pub secrets: Vec<String>,
    /// The tenant settings the templates read (`settings.locationIds`).
    #[serde(default)]
    pub settings: Vec<String>,
    pub auth: Auth,
    /// Headers sent with every request (templates).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    #[serde(default)]
    pub rate_limit: RateLimit,
    pub streams: BTreeMap<DataType, Stream>,
    #[serde(default)]
    pub webhooks: Option<Webhooks>,
}

/// What the manifest was written from, and how sure it is.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Documentation {
    pub status: DocumentationStatus,
    pub sources: Vec<String>,
    pub covers: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocumentationStatus {
    /// Every request and field is in the vendor's public reference.
    Documented,
    /// Part of the API is public; the manifest covers that part.
    Partial,
    /// No public reference was available: the shape is modelled and must be
    /// confirmed with the vendor before a tenant uses it.
    Unverified,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Auth {
    None,
    /// Headers carrying keys (`X-Api-Key: {{ secrets.key }}`).
    ApiKey {
        headers: BTreeMap<String, String>,
    },
    Bearer {
        token: String,
    },
    Basic {
        username: String,
        #[serde(default)]
        password: String,
    },
    /// A token from a token endpoint (client credentials, or the grant the
    /// form names), cached until shortly before it expires.
    Oauth2 {
        token_url: String,
        form: BTreeMap<String, String>,
        #[serde(default = "access_token")]
        token_field: String,
        #[serde(default)]
        expires_in_field: Option<String>,
        #[serde(default = "hour")]
        default_ttl_seconds: u64,
        #[serde(default = "authorization")]
        header: String,
        #[serde(default = "bearer_prefix")]
        prefix: String,
    },
}

fn access_token() -> String {
    "access_token".into()
}
fn hour() -> u64 {
    3600
}
fn authorization() -> String {
    "Authorization".into()
}
fn bearer_prefix() -> String {
    "Bearer ".into()
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    /// Client-side pacing; unset means as fast as the answers come.
    #[serde(default)]
    pub requests_per_second: Option<f64>,
    /// The header whose seconds say how long to wait after a 429 or 503.
    #[serde(default = "retry_after")]
    pub retry_after_header: String,
    #[serde(default = "five")]
    pub max_attempts: u32,
}

impl Default for RateLimit {
    fn default() -> Self {
        Self {
            requests_per_second: None,
            retry_after_header: retry_after(),
            max_attempts: five(),
        }
    }
}

fn retry_after() -> String {
    "Retry-After".into()
}
fn five() -> u32 {
    5
}

/// One data type: the request, how pages follow, where the records are,
/// and how each becomes a normalized change.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Stream {
    pub request: Request,
    /// A settings list (`settings.locationIds`): the request runs once per
    /// item, `item` in its templates.
    #[serde(default)]
    pub for_each: Option<String>,
    /// Dotted path to the records (`data`, `menu_feed.menu_groups.*.menu_items`);
    /// empty when the body is the list.
    #[serde(default)]
    pub records: String,
    pub pagination: Pagination,
    #[serde(default)]
    pub incremental: Option<Incremental>,
    pub mapping: Mapping,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Request {
    #[serde(default)]
    pub method: Method,
    pub path: String,
    #[serde(default)]
    pub query: BTreeMap<String, String>,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// A JSON body; its string leaves are templates.
    #[serde(default)]
    pub body: Option<serde_json::Value>,
    /// Sent as `application/x-www-form-urlencoded` instead of JSON.
    #[serde(default)]
    pub form: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub enum Method {
    #[default]
    #[serde(rename = "GET")]
    Get,
    #[serde(rename = "POST")]
    Post,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stop {
    /// The first page without records ends the listing.
    EmptyPage,
    /// A page with fewer records than the page size ends it.
    ShortPage,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Pagination {
    /// One request answers everything.
    None,
    /// The answer names the next page's cursor (body path or header);
    /// absent or empty ends it.
    Cursor {
        #[serde(default)]
        cursor_path: Option<String>,
        #[serde(default)]
        cursor_header: Option<String>,
    },
    PageNumber {
        #[serde(default = "one")]
        start: u64,
        page_size: u64,
        stop: Stop,
        /// A body path to the page count, when the answer has one.
        #[serde(default)]
        total_pages_path: Option<String>,
    },
    Offset {
        page_size: u64,
        stop: Stop,
        /// A body path to the record count, when the answer has one.
        #[serde(default)]
        total_path: Option<String>,
    },
    /// RFC 8288 `Link: <url>; rel="next"`.
    LinkHeader {
        #[serde(default = "next")]
        rel: String,
    },
}

fn one() -> u64 {
    1
}
fn next() -> String {
    "next".into()
}

/// The incremental window: which record field is the change time, and
/// whether records outside the window are dropped here (for APIs that cannot
/// filter by it).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Incremental {
    pub field: String,
    #[serde(default)]
    pub format: TimeFormat,
    #[serde(default)]
    pub filter: bool,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeFormat {
    /// RFC 3339 with an offset.
    #[default]
    Rfc3339,
    /// RFC 3339 without an offset, read as UTC (the vendor documents UTC).
    UtcNaive,
    EpochMillis,
    EpochSeconds,
}

/// How a record becomes a `PulledObject`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mapping {
    /// The path of the id, or several joined with `@` (per location).
    pub id: IdPaths,
    /// The path of the change time, or `pulled` for the pull's time (a
    /// record without one: a later pull wins).
    pub updated_at: String,
    #[serde(default)]
    pub updated_at_format: TimeFormat,
    /// A path to the record's own version number, when it has one.
    #[serde(default)]
    pub version: Option<String>,
    #[serde(default)]
    pub deleted: Option<DeletedWhen>,
    /// Attribute name → the record's path (kept as the record has it).
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
    /// Typed catalog fields (`attributes.catalog`), for catalog streams.
    #[serde(default)]
    pub catalog: Option<super::catalog::CatalogPaths>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum IdPaths {
    One(String),
    Joined(Vec<String>),
}

impl IdPaths {
    pub fn paths(&self) -> Vec<&str> {
        match self {
            IdPaths::One(p) => vec![p.as_str()],
            IdPaths::Joined(ps) => ps.iter().map(String::as_str).collect(),
        }
    }
}

/// The record is a tombstone when the value at `path` equals `equals`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeletedWhen {
    pub path: String,
    pub equals: serde_json::Value,
}

/// What the vendor's webhooks look like, where it sends them.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Webhooks {
    /// Set when the vendor signs deliveries.
    #[serde(default)]
    pub signature: Option<WebhookSignature>,
    /// The vendor's topic → the data type it changes.
    pub topics: BTreeMap<String, DataType>,
    #[serde(default)]
    pub notes: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookSignature {
    pub header: String,
    pub algorithm: SignatureAlgorithm,
    /// What is signed (`body`, or `timestamp.body`).
    pub signed: String,
    pub encoding: SignatureEncoding,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SignatureAlgorithm {
    HmacSha256,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignatureEncoding {
    Base64,
    Hex,
}
