//! The fleet routes the dashboard refreshes: every active tenant's status in
//! one page, and the recent failures by tenant and error class.

use super::{ok, query, Answer};
use crate::Api;
use futures::FutureExt;
use lambda_http::Request;

/// `GET /api/tenants?limit=&cursor=`.
pub(super) async fn get_tenants(api: &Api, request: &Request) -> Answer {
    let (limit, cursor) = (query(request, "limit"), query(request, "cursor"));
    // Boxed: the fan-out's future type is deep, and every caller's future
    // would otherwise nest it.
    let page = api.tenants(limit.as_deref(), cursor.as_deref()).boxed();
    ok(200, &page.await?)
}

/// `GET /api/failures?since=&until=&limit=`.
pub(super) async fn get_failures(api: &Api, request: &Request) -> Answer {
    let (since, until) = (query(request, "since"), query(request, "until"));
    let limit = query(request, "limit");
    let answer = api
        .failures(since.as_deref(), until.as_deref(), limit.as_deref())
        .boxed();
    ok(200, &answer.await?)
}
