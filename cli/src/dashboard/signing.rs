//! Forwarding to the deployed sync API, signed with SigV4 (service
//! `execute-api`) with the operator's credentials from the default provider
//! chain (environment, profile, SSO, instance role, ...), asked for on each
//! request so refreshed credentials are used as they change. Only the
//! method, path, query, body and content type go on: the browser's cookies
//! and other headers are not forwarded.

use super::{Answer, Error};
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_credential_types::Credentials;
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use axum::body::Bytes;
use axum::http::{header, HeaderMap, HeaderValue, Method};
use std::time::{Duration, SystemTime};

/// The service name API Gateway's IAM authorizer expects in the signature.
pub const SERVICE: &str = "execute-api";

pub struct SignedApi {
    /// `https://{apiId}.execute-api.{region}.amazonaws.com` (the stack's
    /// ApiBaseUrl without `/api`), no trailing slash.
    base_url: String,
    region: String,
    credentials: SharedCredentialsProvider,
    http: reqwest::Client,
}

impl SignedApi {
    /// The API at `base_url`, signed for the region of an
    /// `execute-api.{region}.amazonaws.com` host, else `region`.
    pub fn new(
        base_url: &str,
        region: Option<&str>,
        credentials: SharedCredentialsProvider,
    ) -> Result<Self, Error> {
        let base_url = base_url
            .trim_end_matches('/')
            .trim_end_matches("/api")
            .to_owned();
        let url = reqwest::Url::parse(&base_url)
            .map_err(|e| format!("--api-url {base_url:?} is not a URL: {e}"))?;
        if !matches!(url.scheme(), "https" | "http") {
            return Err(format!("--api-url {base_url:?} must be an http(s) URL").into());
        }
        let region = region_of(url.host_str().unwrap_or_default())
            .or(region.map(str::to_owned))
            .ok_or("no AWS region: set AWS_REGION (or a profile's region), or give the execute-api URL")?;
        Ok(Self {
            base_url,
            region,
            credentials,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(35))
                .build()?,
        })
    }

    /// The operator's credentials and region from the default chain.
    pub async fn from_environment(base_url: &str) -> Result<Self, Error> {
        let aws = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .load()
            .await;
        let credentials = aws
            .credentials_provider()
            .ok_or("no AWS credentials provider: configure credentials as for the AWS CLI")?;
        Self::new(base_url, aws.region().map(|r| r.as_ref()), credentials)
    }

    pub fn region(&self) -> &str {
        &self.region
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Signs and sends one request.
    pub async fn send(
        &self,
        method: &Method,
        path: &str,
        query: &str,
        content_type: Option<&HeaderValue>,
        body: Bytes,
    ) -> Result<Answer, Error> {
        let credentials = self
            .credentials
            .provide_credentials()
            .await
            .map_err(|e| format!("no AWS credentials to sign with: {e}"))?;
        let mut url = format!("{}{path}", self.base_url);
        if !query.is_empty() {
            url = format!("{url}?{query}");
        }
        let mut request = http::Request::builder().method(method.clone()).uri(&url);
        if let Some(ct) = content_type {
            request = request.header(header::CONTENT_TYPE, ct.clone());
        }
        let mut request = request.body(body.to_vec())?;
        sign_request(&mut request, &credentials, &self.region, SystemTime::now())?;
        let response = self
            .http
            .execute(reqwest::Request::try_from(request)?)
            .await?;
        let status = response.status();
        let mut headers = HeaderMap::new();
        if let Some(ct) = response.headers().get(header::CONTENT_TYPE) {
            headers.insert(header::CONTENT_TYPE, ct.clone());
        }
        Ok(Answer {
            status,
            headers,
            body: response.bytes().await?,
        })
    }
}

/// The region in an `{api}.execute-api.{region}.amazonaws.com` host.
fn region_of(host: &str) -> Option<String> {
    let (_, rest) = host.split_once(".execute-api.")?;
    let region = rest.split('.').next()?;
    (!region.is_empty()).then(|| region.to_owned())
}

/// Adds the SigV4 headers (`authorization`, `x-amz-date`, and
/// `x-amz-security-token` for temporary credentials) to `request`.
pub fn sign_request(
    request: &mut http::Request<Vec<u8>>,
    credentials: &Credentials,
    region: &str,
    at: SystemTime,
) -> Result<(), Error> {
    let identity: Identity = credentials.clone().into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(SERVICE)
        .time(at)
        .settings(SigningSettings::default())
        .build()?
        .into();
    let uri = request.uri().to_string();
    let headers: Vec<(String, String)> = request
        .headers()
        .iter()
        .filter_map(|(k, v)| Some((k.as_str().to_owned(), v.to_str().ok()?.to_owned())))
        .collect();
    let signable = SignableRequest::new(
        request.method().as_str(),
        &uri,
        headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        SignableBody::Bytes(request.body()),
    )?;
    let (instructions, _signature) = sign(signable, &params)?.into_parts();
    instructions.apply_to_request_http1x(request);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_region_comes_from_the_execute_api_host() {
        assert_eq!(
            region_of("abc123.execute-api.eu-west-1.amazonaws.com").as_deref(),
            Some("eu-west-1")
        );
        assert_eq!(region_of("127.0.0.1"), None);
    }

    #[test]
    fn a_signed_request_names_the_key_the_scope_and_the_service() {
        let credentials =
            Credentials::new("AKIDEXAMPLE", "secret", Some("token".into()), None, "test");
        let mut request = http::Request::builder()
            .method("POST")
            .uri("https://abc.execute-api.us-east-1.amazonaws.com/api/tenants/acme/runs?x=1")
            .header("content-type", "application/json")
            .body(br#"{"dryRun":true}"#.to_vec())
            .unwrap();
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_780_000_000);
        sign_request(&mut request, &credentials, "us-east-1", at).unwrap();
        let auth = request.headers()["authorization"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(
            auth.starts_with(
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260528/us-east-1/execute-api/aws4_request"
            ),
            "{auth}"
        );
        assert!(auth.contains("x-amz-date"), "{auth}");
        assert_eq!(request.headers()["x-amz-security-token"], "token");
        // The same request at the same time signs alike; another body does not.
        let unsigned = |body: &[u8]| {
            let mut r = request.clone();
            for h in ["authorization", "x-amz-date", "x-amz-security-token"] {
                r.headers_mut().remove(h);
            }
            *r.body_mut() = body.to_vec();
            r
        };
        let mut again = unsigned(br#"{"dryRun":true}"#);
        sign_request(&mut again, &credentials, "us-east-1", at).unwrap();
        assert_eq!(again.headers()["authorization"], auth.as_str());
        let mut other = unsigned(br#"{"dryRun":false}"#);
        sign_request(&mut other, &credentials, "us-east-1", at).unwrap();
        assert_ne!(other.headers()["authorization"], auth.as_str());
    }
}
