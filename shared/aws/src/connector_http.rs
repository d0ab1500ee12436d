//! The connector engine: runs any manifest (`domain::connector`) against its
//! POS's HTTP API. Per page it renders the request (base URL of the tenant's
//! environment, path, query, body, headers, auth), paces and retries it
//! (429/5xx with backoff and jitter, the manifest's retry-after header
//! honoured; 401/403 and other 4xx never retried), selects the records and
//! says where the next page starts, as the run's checkpoint cursor.
//! OAuth2 tokens are cached per (connector, tenant) until a minute before
//! they expire, and fetched again once after a 401. Secrets are never logged.

use super::classify::{send_error_class, status_class};
use super::http_retry::{backoff, client, retrying, HttpFailure};
use backon::ExponentialBuilder;
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::AtomicU32;
use std::time::{Duration, Instant};
use synchub_connectors::manifest::{Auth, DocumentationStatus, Method, Stream};
use synchub_connectors::paging::{self, Answer, Checkpoint, Position};
use synchub_connectors::{mapping, template, Manifest};
use synchub_core::domain::DataType;
use synchub_core::ports::{PortError, PullWindow};
use synchub_core::ErrorClass;
use tokio::sync::Mutex;

/// One tenant's pull through one connector.
#[derive(Debug, Clone, Copy)]
pub struct Pull<'a> {
    pub manifest: &'static Manifest,
    pub environment: &'a str,
    /// The tenant's `pos.settings` (an object).
    pub settings: &'a Value,
    pub secrets: &'a BTreeMap<String, String>,
    /// Keys the token cache and the pacing.
    pub tenant: &'a str,
}

/// One page of records as the POS sent them; `cursor` is the checkpoint
/// where the next page starts, `None` after the last.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConnectorPage {
    pub records: Vec<Value>,
    pub cursor: Option<String>,
}

pub struct ConnectorEngine {
    http: reqwest::Client,
    attempts: usize,
    max_wait: Duration,
    origin: Option<String>,
    tokens: Mutex<HashMap<String, (String, Instant)>>,
    next_slot: Mutex<HashMap<String, Instant>>,
}

/// A token is used until this long before it expires.
const TOKEN_MARGIN: Duration = Duration::from_secs(60);

impl ConnectorEngine {
    pub fn new(attempts: usize, max_wait: Duration) -> Self {
        Self {
            http: client(Duration::from_secs(20), Duration::from_secs(3)),
            attempts: attempts.max(1),
            max_wait,
            origin: None,
            tokens: Mutex::new(HashMap::new()),
            next_slot: Mutex::new(HashMap::new()),
        }
    }

    /// Sends every request (token endpoint included) to `origin`
    /// (`http://127.0.0.1:PORT`) instead of the manifest's hosts: the local
    /// stand-ins of tests and the demo.
    pub fn with_origin(mut self, origin: impl Into<String>) -> Self {
        self.origin = Some(origin.into().trim_end_matches('/').to_owned());
        self
    }

    fn routed(&self, url: &str) -> String {
        match &self.origin {
            Some(origin) => {
                let rest = url.split_once("://").map_or(url, |(_, r)| r);
                let path = rest.find('/').map_or("", |i| &rest[i..]);
                format!("{origin}{path}")
            }
            None => url.to_owned(),
        }
    }

    /// Pulls the page of `data_type` that `cursor` points at.
    pub async fn page(
        &self,
        pull: &Pull<'_>,
        data_type: DataType,
        window: &PullWindow,
        cursor: Option<&str>,
    ) -> Result<ConnectorPage, PortError> {
        let op = data_type.as_str();
        let refuse = |why: String| invalid(pull.manifest, op, why);
        let (stream, base) = stream_and_base(pull, data_type).map_err(refuse)?;
        let checkpoint = Checkpoint::parse(cursor).map_err(refuse)?;
        let items = for_each_items(stream, pull.settings).map_err(refuse)?;
        let Some(item) = items.get(checkpoint.item) else {
            return Ok(ConnectorPage::default());
        };
        let vars = paging::vars(&stream.pagination, &checkpoint.position);
        let context = context(pull, window, &vars, item);
        let answer = self.fetch(pull, stream, base, &vars, &context, op).await?;
        let mut records: Vec<Value> = mapping::records(&answer.body, &stream.records)
            .into_iter()
            .cloned()
            .collect();
        let next = paging::next(
            &stream.pagination,
            &checkpoint.position,
            &Answer {
                body: &answer.body,
                headers: &answer.headers,
                records: records.len(),
            },
        );
        if let Some(inc) = stream.incremental.as_ref().filter(|i| i.filter) {
            records.retain(|r| in_window(r, &inc.field, inc.format, window));
        }
        let cursor = next_checkpoint(checkpoint, next, items.len()).map(|c| c.encode());
        Ok(ConnectorPage { records, cursor })
    }

    async fn fetch(
        &self,
        pull: &Pull<'_>,
        stream: &Stream,
        base: &str,
        vars: &paging::PageVars,
        context: &Value,
        op: &'static str,
    ) -> Result<Reply, PortError> {
        let m = pull.manifest;
        let bad = |why: String| PortError::new(service(m), op, ErrorClass::ValidationError, why);
        let url = match &vars.url {
            // A next link must stay on the API's host: credentials go nowhere else.
            Some(link) if same_origin(link, base) => self.routed(link),
            Some(link) => return Err(bad(format!("next link {link:?} leaves {base}"))),
            None => {
                let path = template::render(&stream.request.path, context)
                    .map_err(|e| bad(format!("path: {e}")))?;
                self.routed(&format!("{}{}", base.trim_end_matches('/'), path))
            }
        };
        let query = match vars.url {
            Some(_) => Vec::new(),
            None => template::render_map(&stream.request.query, context)
                .map_err(|(k, e)| bad(format!("query {k}: {e}")))?,
        };
        let headers =
            template::render_map(m.headers.iter().chain(&stream.request.headers), context)
                .map_err(|(k, e)| bad(format!("header {k}: {e}")))?;
        let body = match &stream.request.body {
            Some(b) => {
                Some(template::render_body(b, context).map_err(|e| bad(format!("body: {e}")))?)
            }
            None => None,
        };
        let form = match &stream.request.form {
            Some(f) => Some(
                template::render_map(f, context).map_err(|(k, e)| bad(format!("form {k}: {e}")))?,
            ),
            None => None,
        };
        let mut refreshed = false;
        loop {
            let auth = self.auth_headers(pull, context, op).await?;
            let mut all = headers.clone();
            all.extend(auth);
            let request = Prepared {
                method: stream.request.method,
                url: &url,
                query: &query,
                headers: &all,
                body: body.as_ref(),
                form: form.as_deref(),
            };
            match self.send_retrying(pull, &request, op).await {
                Err(e)
                    if is_unauthorized(&e)
                        && !refreshed
                        && matches!(m.auth, Auth::Oauth2 { .. }) =>
                {
                    // A token the API no longer takes: fetch a new one, once.
                    refreshed = true;
                    self.tokens.lock().await.remove(&token_key(pull));
                }
                other => return other,
            }
        }
    }

    async fn send_retrying(
        &self,
        pull: &Pull<'_>,
        request: &Prepared<'_>,
        op: &'static str,
    ) -> Result<Reply, PortError> {
        let attempts = AtomicU32::new(0);
        // The manifest's attempts, never more than the deployment allows.
        let tries = (pull.manifest.rate_limit.max_attempts as usize)
            .min(self.attempts)
            .max(1);
        let policy: ExponentialBuilder = backoff(tries, Duration::from_secs(4));
        retrying(policy, self.max_wait, &attempts, || async {
            self.pace(pull).await;
            self.send_once(pull, request, op).await
        })
        .await
        .map_err(|f| f.error)
    }

    async fn pace(&self, pull: &Pull<'_>) {
        let Some(rps) = pull
            .manifest
            .rate_limit
            .requests_per_second
            .filter(|r| *r > 0.0)
        else {
            return;
        };
        let gap = Duration::from_secs_f64(1.0 / rps);
        let wait = {
            let mut slots = self.next_slot.lock().await;
            let now = Instant::now();
            let slot = slots
                .entry(format!("{}|{}", pull.manifest.name, pull.tenant))
                .or_insert(now);
            let at = (*slot).max(now);
            *slot = at + gap;
            at - now
        };
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }

    async fn send_once(
        &self,
        pull: &Pull<'_>,
        r: &Prepared<'_>,
        op: &'static str,
    ) -> Result<Reply, HttpFailure> {
        let m = pull.manifest;
        let mut builder = match r.method {
            Method::Get => self.http.get(r.url),
            Method::Post => self.http.post(r.url),
        };
        builder = builder.query(r.query);
        for (name, value) in r.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        if let Some(body) = r.body {
            builder = builder.json(body);
        } else if let Some(form) = r.form {
            builder = builder.form(form);
        }
        let fail = |class, message: String, retry_after| HttpFailure {
            error: PortError::new(service(m), op, class, message),
            retry_after,
        };
        let response = builder.send().await.map_err(|e| {
            fail(
                send_error_class(&e),
                format!("request failed: {}", e.without_url()),
                None,
            )
        })?;
        let status = response.status().as_u16();
        let headers: Vec<(String, String)> = response
            .headers()
            .iter()
            .filter_map(|(n, v)| {
                Some((n.as_str().to_ascii_lowercase(), v.to_str().ok()?.to_owned()))
            })
            .collect();
        let wait = header(&headers, &m.rate_limit.retry_after_header)
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let text = response.text().await.unwrap_or_default();
        if !(200..300).contains(&status) {
            let excerpt: String = text.chars().take(200).collect();
            return Err(fail(
                status_class(status, ErrorClass::NetworkError),
                format!("HTTP {status} {excerpt}").trim().to_owned(),
                wait,
            ));
        }
        let body = match text.trim() {
            "" => Value::Null,
            t => serde_json::from_str(t).map_err(|e| {
                fail(
                    ErrorClass::ValidationError,
                    format!("answer is not JSON: {e}"),
                    None,
                )
            })?,
        };
        Ok(Reply { body, headers })
    }

    async fn auth_headers(
        &self,
        pull: &Pull<'_>,
        context: &Value,
        op: &'static str,
    ) -> Result<Vec<(String, String)>, PortError> {
        let m = pull.manifest;
        let bad = |why: String| PortError::new(service(m), op, ErrorClass::ValidationError, why);
        let one = |s: &str| template::render(s, context).map_err(|e| bad(format!("auth: {e}")));
        Ok(match &m.auth {
            Auth::None => Vec::new(),
            Auth::ApiKey { headers } => template::render_map(headers, context)
                .map_err(|(k, e)| bad(format!("auth header {k}: {e}")))?,
            Auth::Bearer { token } => {
                vec![("Authorization".into(), format!("Bearer {}", one(token)?))]
            }
            Auth::Basic { username, password } => {
                use base64::Engine as _;
                let pair = format!("{}:{}", one(username)?, one(password)?);
                vec![(
                    "Authorization".into(),
                    format!(
                        "Basic {}",
                        base64::engine::general_purpose::STANDARD.encode(pair)
                    ),
                )]
            }
            Auth::Oauth2 { header, prefix, .. } => vec![(
                header.clone(),
                format!("{prefix}{}", self.token(pull, context, op).await?),
            )],
        })
    }

    /// The cached OAuth2 token, or a new one from the token endpoint.
    async fn token(
        &self,
        pull: &Pull<'_>,
        context: &Value,
        op: &'static str,
    ) -> Result<String, PortError> {
        let m = pull.manifest;
        let Auth::Oauth2 {
            token_url,
            form,
            token_field,
            expires_in_field,
            default_ttl_seconds,
            ..
        } = &m.auth
        else {
            return Err(PortError::new(
                service(m),
                op,
                ErrorClass::ValidationError,
                "not an OAuth2 connector",
            ));
        };
        let key = token_key(pull);
        let mut cache = self.tokens.lock().await;
        if let Some((token, until)) = cache.get(&key) {
            if Instant::now() < *until {
                return Ok(token.clone());
            }
        }
        let reply = self.request_token(pull, context, token_url, form).await?;
        let token = mapping::value_at(&reply.body, token_field)
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| token_failure(m, format!("the token answer has no {token_field}")))?
            .to_owned();
        let life = token_life(
            &reply.body,
            expires_in_field.as_deref(),
            *default_ttl_seconds,
        );
        cache.insert(key, (token.clone(), Instant::now() + life));
        Ok(token)
    }

    /// Asks the token endpoint for a token; its answer as sent.
    async fn request_token(
        &self,
        pull: &Pull<'_>,
        context: &Value,
        token_url: &str,
        form: &BTreeMap<String, String>,
    ) -> Result<Reply, PortError> {
        let m = pull.manifest;
        let url = template::render(token_url, context)
            .map_err(|e| token_failure(m, format!("token_url: {e}")))?;
        let fields = template::render_map(form, context)
            .map_err(|(k, e)| token_failure(m, format!("form {k}: {e}")))?;
        let request = Prepared {
            method: Method::Post,
            url: &self.routed(&url),
            query: &[],
            headers: &[],
            body: None,
            form: Some(&fields),
        };
        self.send_retrying(pull, &request, "token")
            .await
            .map_err(|e| match e.class() {
                // The token endpoint refusing the credentials is an auth failure.
                ErrorClass::ValidationError => token_failure(m, e.message()),
                _ => e,
            })
    }
}

struct Prepared<'a> {
    method: Method,
    url: &'a str,
    query: &'a [(String, String)],
    headers: &'a [(String, String)],
    body: Option<&'a Value>,
    form: Option<&'a [(String, String)]>,
}

struct Reply {
    body: Value,
    headers: Vec<(String, String)>,
}

fn service(m: &'static Manifest) -> &'static str {
    m.title.as_str()
}

/// A pull the connector's manifest or the tenant's settings cannot make.
fn invalid(m: &'static Manifest, op: &'static str, why: String) -> PortError {
    PortError::new(service(m), op, ErrorClass::ValidationError, why)
}

/// The token endpoint refusing, or a token request that cannot be made.
fn token_failure(m: &'static Manifest, why: String) -> PortError {
    PortError::new(service(m), "token", ErrorClass::AuthError, why)
}

/// The stream of `data_type` and the base URL of the pull's environment;
/// an unverified connector never pulls production.
fn stream_and_base(
    pull: &Pull<'_>,
    data_type: DataType,
) -> Result<(&'static Stream, &'static str), String> {
    let m = pull.manifest;
    let stream = m
        .streams
        .get(&data_type)
        .ok_or_else(|| format!("{} has no {data_type} stream", m.name))?;
    if m.documentation.status == DocumentationStatus::Unverified && pull.environment == "production"
    {
        return Err(format!("connector {} is unverified: confirm its manifest against the vendor's reference before pulling production", m.name));
    }
    let base = m
        .environments
        .get(pull.environment)
        .ok_or_else(|| format!("{} has no {:?} environment", m.name, pull.environment))?;
    Ok((stream, base.as_str()))
}

/// Where the next page starts: the next position of this item, else the
/// start of the next item, else nowhere (the pull is done).
fn next_checkpoint(
    checkpoint: Checkpoint,
    next: Option<Position>,
    items: usize,
) -> Option<Checkpoint> {
    match next {
        Some(position) => Some(Checkpoint {
            position,
            ..checkpoint
        }),
        None if checkpoint.item + 1 < items => Some(Checkpoint {
            item: checkpoint.item + 1,
            position: Position::Start,
        }),
        None => None,
    }
}

/// How long a new token is used: its lifetime (the answer's `expires_in`
/// field, else the manifest's default) less the margin, at least a second.
fn token_life(body: &Value, expires_in_field: Option<&str>, default_ttl_seconds: u64) -> Duration {
    let ttl = expires_in_field
        .and_then(|f| mapping::value_at(body, f))
        .and_then(|v| v.as_u64().or_else(|| v.as_str()?.parse().ok()))
        .unwrap_or(default_ttl_seconds);
    Duration::from_secs(ttl)
        .saturating_sub(TOKEN_MARGIN)
        .max(Duration::from_secs(1))
}

fn token_key(pull: &Pull<'_>) -> String {
    format!(
        "{}|{}|{}",
        pull.manifest.name, pull.tenant, pull.environment
    )
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    let name = name.to_ascii_lowercase();
    headers
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v.as_str())
}

fn is_unauthorized(e: &PortError) -> bool {
    e.class() == ErrorClass::AuthError && e.message().starts_with("HTTP 401")
}

fn same_origin(link: &str, base: &str) -> bool {
    let origin = |u: &str| -> String {
        let (scheme, rest) = u.split_once("://").unwrap_or(("", u));
        format!("{scheme}://{}", rest.split('/').next().unwrap_or(""))
    };
    origin(link).eq_ignore_ascii_case(&origin(base))
}

/// The `for_each` list of the tenant's settings, or one pass without an item.
fn for_each_items(stream: &Stream, settings: &Value) -> Result<Vec<Value>, String> {
    let Some(each) = &stream.for_each else {
        return Ok(vec![Value::Null]);
    };
    let name = each.trim_start_matches("settings.");
    match settings.get(name) {
        Some(Value::Array(items)) => Ok(items.clone()),
        Some(v @ (Value::String(_) | Value::Number(_))) => Ok(vec![v.clone()]),
        _ => Err(format!(
            "the tenant's pos settings have no {name} list (the stream runs once per item)"
        )),
    }
}

fn context(pull: &Pull<'_>, window: &PullWindow, vars: &paging::PageVars, item: &Value) -> Value {
    let mut c = Map::new();
    let mut w = Map::new();
    if let Some(a) = &window.updated_after {
        w.insert("after".into(), json!(a));
    }
    if let Some(b) = &window.updated_before {
        w.insert("before".into(), json!(b));
    }
    c.insert("window".into(), Value::Object(w));
    let mut put = |k: &str, v: Option<Value>| {
        if let Some(v) = v {
            c.insert(k.into(), v);
        }
    };
    put("cursor", vars.cursor.clone().map(Value::from));
    put("page", vars.page.map(Value::from));
    put("offset", vars.offset.map(Value::from));
    put("limit", vars.limit.map(Value::from));
    put("item", (!item.is_null()).then(|| item.clone()));
    put(
        "now",
        Some(json!(synchub_core::domain::time::now_rfc3339())),
    );
    put("env", Some(json!(pull.environment)));
    c.insert("settings".into(), pull.settings.clone());
    c.insert("secrets".into(), json!(pull.secrets));
    Value::Object(c)
}

fn in_window(
    record: &Value,
    field: &str,
    format: synchub_connectors::manifest::TimeFormat,
    window: &PullWindow,
) -> bool {
    let millis = |t: &Option<String>| {
        t.as_deref()
            .and_then(|t| synchub_core::domain::time::parse_rfc3339_millis(t).ok())
            .map(|(_, ms)| ms)
    };
    let Some(at) = mapping::value_at(record, field)
        .and_then(|v| mapping::parse_time(v, format).ok())
        .map(|(_, ms)| ms)
    else {
        // A record without a readable time is kept: its mapping decides.
        return true;
    };
    millis(&window.updated_after).is_none_or(|a| at >= a)
        && millis(&window.updated_before).is_none_or(|b| at <= b)
}
