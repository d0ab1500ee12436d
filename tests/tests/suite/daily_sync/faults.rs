//! Square's faults: rate limits and server errors retried, auth errors not,
//! malformed objects rejected by id.

use super::*;
use synchub_cli::sync::sync;
use synchub_core::domain::sync_run::RunStatus;
use synchub_core::domain::DataType;
use synchub_core::ErrorClass;
use synchub_tests::square_server::Fault;

#[tokio::test]
async fn rate_limits_and_server_errors_are_retried_auth_errors_fail_the_run_at_once() {
    let s = setup(data(12), 5).await;
    s.square.inject(
        "/v2/catalog/list",
        Fault::RateLimited {
            retry_after_secs: 1,
        },
        1,
    );
    s.square.inject("/v2/catalog/list", Fault::ServerError, 1);
    let started = std::time::Instant::now();
    let lines = sync(&s.sync, &s.tenant_id(), &[DataType::Catalog], false, true)
        .await
        .unwrap();
    let run = &ran(&lines)[0];
    assert_eq!((run.status, run.fetched), (RunStatus::Succeeded, 12));
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After honoured"
    );
    assert_eq!(
        s.square.requests_to("/v2/catalog/list"),
        3 + 2,
        "three pages plus the two retried attempts"
    );

    s.square.inject("/v2/locations", Fault::Unauthorized, 5);
    let before = s.square.requests_to("/v2/locations");
    let lines = sync(&s.sync, &s.tenant_id(), &[DataType::Locations], false, true)
        .await
        .unwrap();
    let run = &ran(&lines)[0];
    assert_eq!(
        (run.status, run.error_class),
        (RunStatus::Failed, Some(ErrorClass::AuthError))
    );
    assert_eq!(
        s.square.requests_to("/v2/locations") - before,
        1,
        "AUTH is never retried"
    );
    assert!(notices(&s)
        .await
        .iter()
        .any(|n| n["errorClass"] == "AUTH_ERROR" && n["dataType"] == "locations"));
}

#[tokio::test]
async fn a_malformed_object_is_rejected_by_id_and_the_run_goes_on() {
    let mut d = data(6);
    d.items[2].as_object_mut().unwrap().remove("version");
    let s = setup(d, 4).await;
    let lines = sync(&s.sync, &s.tenant_id(), &[DataType::Catalog], false, true)
        .await
        .unwrap();
    let run = &ran(&lines)[0];
    assert_eq!(
        (run.status, run.fetched, run.enqueued, run.rejected),
        (RunStatus::Partial, 6, 5, 1)
    );
    assert_eq!(
        run.rejections,
        vec![(
            "ITEM000002".to_owned(),
            "version: is required (a number)".to_owned()
        )]
    );
    assert!(synchub_cli::sync::table(&lines).contains("rejected ITEM000002"));
}
