//! The operator dashboard in a real headless Chromium (Debian's `chromium`,
//! which scripts/bootstrap.sh installs), driven over the DevTools protocol:
//! the page `synchub dashboard` serves, its API calls answered in-process by
//! the sync API's router on the local stack, with seeded runs, audit rows and
//! failures. A screenshot of the main view goes to target/dashboard.png.
//!
//! Without Chromium the test fails and says how to install it; it never
//! passes without having run the browser.

use headless_chrome::protocol::cdp::Page::CaptureScreenshotFormatOption;
use headless_chrome::Tab;
use std::sync::Arc;
use std::time::Duration;
use synchub_cli::dashboard::{Backend, Dashboard};
use synchub_core::domain::alert::Failure;
use synchub_core::domain::sync_run::RunStatus;
use synchub_core::domain::time::now_millis;
use synchub_core::domain::DataType;
use synchub_core::ports::FailureLog;
use synchub_core::ErrorClass;
use synchub_lambda::Api;
use synchub_tests::api_contract::*;
use synchub_tests::browser::{chromium, js, launch, wait_until};
use synchub_tests::repo_root;
use synchub_tests::square_server::{self, SquareData};

type Fallible<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// Clicks the dialog's Confirm and waits for it to close.
fn confirm(tab: &Tab) {
    wait_until(
        tab,
        "the confirmation dialog",
        "document.getElementById('confirm').open",
    );
    tab.find_element("#confirm-ok").unwrap().click().unwrap();
    wait_until(
        tab,
        "the dialog to close",
        "!document.getElementById('confirm').open",
    );
}

fn failure(tenant: &str) -> Failure {
    let at_millis = now_millis() - 5 * 60_000;
    Failure {
        tenant_id: tenant.into(),
        source: "webhook:supplier".into(),
        error_class: ErrorClass::ValidationError,
        reason: "sku \"bad sku\" has a space".into(),
        subject_id: "evt-bad".into(),
        correlation_id: format!("sync-{tenant}-{at_millis}-0000beef"),
        entity: Some("bad sku".into()),
        at_millis,
        key: "msg-bad".into(),
        dead_letter_body: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_watches_and_acts_from_the_dashboard() {
    let chromium = chromium(); // first: fail fast, with how to install it
    assert!(chromium.is_file(), "{} is not a file", chromium.display());

    let mut data = SquareData::empty();
    data.items = square_server::items(3);
    let s = setup(data).await;
    let tenant = s.tenant().await;
    let failed = s
        .seed_run(&tenant, DataType::Orders, RunStatus::Failed, 90)
        .await;
    s.seed_run(&tenant, DataType::Locations, RunStatus::Succeeded, 30)
        .await;
    // Out of order: evt-2 (minute 2) arrives first and wins; evt-1 is stale.
    s.deliver(&tenant, "SKU-1", &[("evt-2", 2), ("evt-1", 1)])
        .await;
    s.api
        .failures
        .record(&failure(&tenant))
        .await
        .expect("record a failure");

    let dashboard = Dashboard::new(Backend::InProcess(Box::new(Api::new(
        &s.stack.aws,
        &s.stack.config,
    ))));
    let serving = dashboard.start(0).await.expect("the dashboard serves");
    let url = serving.url();
    let counter = Arc::new(dashboard.clone());
    let tenant_id = tenant.clone();
    let failed_run = failed.run_id.clone();
    let browsed = tokio::task::spawn_blocking(move || -> Fallible<()> {
        browse(&url, &tenant_id, &failed_run, &counter)
    })
    .await
    .expect("the browser task ends");
    browsed.expect("the dashboard works in Chromium");
}

fn browse(url: &str, tenant: &str, failed_run: &str, dashboard: &Dashboard) -> Fallible<()> {
    let browser = launch();
    let tab = browser.new_tab()?;
    tab.set_default_timeout(Duration::from_secs(20));
    tab.navigate_to(url)?.wait_until_navigated()?;
    wait_until(
        &tab,
        "the first refresh",
        "document.body.dataset.ready === 'true'",
    );

    // What was seeded shows: the failed run (with its correlation id), the
    // failure by tenant and class, health, the gate, the flags.
    let runs = js(&tab, "document.getElementById('runs-table').innerText");
    let runs = runs.as_str().unwrap_or_default();
    assert!(runs.contains(failed_run), "{runs}");
    assert!(
        runs.contains("failed") && runs.contains("locations"),
        "{runs}"
    );
    let failures = js(&tab, "document.getElementById('failures-table').innerText");
    assert!(
        failures
            .as_str()
            .unwrap_or_default()
            .contains("VALIDATION_ERROR"),
        "{failures}"
    );
    let badge = js(&tab, "document.getElementById('health-badge').textContent");
    assert!(
        badge.as_str().unwrap_or_default().starts_with("health: "),
        "{badge}"
    );
    wait_until(
        &tab,
        "the gate verdict",
        "/gate: (pass|fail)/.test(document.getElementById('gate-verdict').textContent)",
    );
    let flags = js(&tab, "document.getElementById('flags-table').innerText");
    assert!(
        flags.as_str().unwrap_or_default().contains("deploy"),
        "{flags}"
    );
    // Times in the operator's zone, UTC on hover.
    let utc = js(&tab, "document.querySelector('#runs-table time').title");
    assert!(
        utc.as_str().unwrap_or_default().starts_with("UTC 20"),
        "{utc}"
    );
    // Every form control has a label; every table a caption.
    let unlabelled = js(&tab, "Array.from(document.querySelectorAll('input, select')).filter(e => e.labels.length === 0).map(e => e.id || e.name)");
    assert_eq!(
        unlabelled,
        serde_json::json!([]),
        "controls without a label"
    );
    let uncaptioned = js(
        &tab,
        "Array.from(document.querySelectorAll('table.sortable')).filter(t => !t.caption).length",
    );
    assert_eq!(uncaptioned, serde_json::json!(0));

    // A refresh costs a fixed number of API requests.
    let per_refresh = js(&tab, "Number(document.body.dataset.requestsPerRefresh)");
    assert_eq!(per_refresh, serde_json::json!(4));
    let before = dashboard.forwarded();
    js(&tab, "refresh().then(() => true)");
    assert_eq!(
        dashboard.forwarded() - before,
        4,
        "requests forwarded by one refresh"
    );

    // Tables sort: by status, descending on the second click.
    tab.find_element("#runs-table thead th:nth-child(3) button")?
        .click()?;
    tab.find_element("#runs-table thead th:nth-child(3) button")?
        .click()?;
    let sorted = js(
        &tab,
        "document.querySelector('#runs-table thead th:nth-child(3)').getAttribute('aria-sort')",
    );
    assert_eq!(sorted, serde_json::json!("descending"));
    let first = js(
        &tab,
        "document.querySelector('#runs-table tbody tr td:nth-child(3)').textContent",
    );
    assert_eq!(
        first,
        serde_json::json!("succeeded"),
        "descending by status"
    );

    std::fs::create_dir_all(repo_root().join("target"))?;
    tab.evaluate("window.scrollTo(0, 0)", false)?;
    let png = tab.capture_screenshot(CaptureScreenshotFormatOption::Png, None, None, true)?;
    std::fs::write(repo_root().join("target/dashboard.png"), png)?;

    // Start a catalog dry run: it asks first, appears, and finishes with
    // what the pull would change and the answer's correlation id.
    let select = format!("document.getElementById('tenant-select').value === '{tenant}'");
    wait_until(&tab, "the tenant in the picker", &select);
    tab.find_element("#run-form button[type=submit]")?.click()?;
    let asked = js(&tab, "document.getElementById('confirm-text').textContent");
    assert!(
        asked
            .as_str()
            .unwrap_or_default()
            .contains("Nothing is written"),
        "{asked}"
    );
    confirm(&tab);
    wait_until(
        &tab,
        "the dry run in the activity list",
        "document.querySelectorAll('#activity-list li').length === 1",
    );
    wait_until(
        &tab,
        "the dry run to finish",
        "document.querySelector('#activity-list li').dataset.state === 'done'",
    );
    let line = js(
        &tab,
        "document.querySelector('#activity-list li').innerText",
    );
    let line = line.as_str().unwrap_or_default();
    assert!(
        line.contains("dry run of catalog") && line.contains("finished"),
        "{line}"
    );
    assert!(
        line.contains(&format!("correlation id sync-{tenant}-")),
        "{line}"
    );
    let result = js(&tab, "document.getElementById('result-body').innerText");
    let result = result.as_str().unwrap_or_default();
    assert!(
        result.contains("catalog\t3\t3"),
        "fetched 3, all new: {result}"
    );

    // Cancelling asks and then does nothing.
    tab.find_element("#run-form button[type=submit]")?.click()?;
    wait_until(
        &tab,
        "the confirmation dialog",
        "document.getElementById('confirm').open",
    );
    tab.find_element("#confirm-cancel")?.click()?;
    wait_until(
        &tab,
        "the dialog to close",
        "!document.getElementById('confirm').open",
    );
    let lines = js(
        &tab,
        "document.querySelectorAll('#activity-list li').length",
    );
    assert_eq!(
        lines,
        serde_json::json!(1),
        "a cancelled action does nothing"
    );

    // Trace a SKU: every delivery, and the winner and why.
    tab.find_element("#trace-id")?.click()?.type_into("SKU-1")?;
    tab.press_key("Enter")?;
    wait_until(
        &tab,
        "the trace",
        "!!document.getElementById('trace-winner')",
    );
    let winner = js(&tab, "document.getElementById('trace-winner').innerText");
    assert!(
        winner.as_str().unwrap_or_default().contains("evt-2"),
        "{winner}"
    );
    let rows = js(&tab, "Array.from(document.querySelectorAll('#trace-table tbody tr')).map(r => [r.dataset.eventId, r.dataset.outcome, r.classList.contains('winner')]).sort()");
    assert_eq!(
        rows,
        serde_json::json!([["evt-1", "stale", false], ["evt-2", "applied", true]])
    );

    // Replay the last hour as a dry run (republishing every item touched):
    // it asks, then lists the item ids it would touch and why, and offers
    // the real replay.
    tab.find_element("#replay-republish")?.click()?;
    tab.find_element("#replay-dry")?.click()?;
    confirm(&tab);
    wait_until(
        &tab,
        "the replay's items",
        "document.querySelectorAll('#replay-items li').length > 0",
    );
    let items = js(&tab, "Array.from(document.querySelectorAll('#replay-items li')).map(li => [li.dataset.itemId, li.dataset.reason, li.dataset.action])");
    assert_eq!(
        items,
        serde_json::json!([["SKU-1", "republishRequested", "wouldReplay"]]),
        "the one SKU delivered, replayed only because republish was asked"
    );
    let line = js(
        &tab,
        "document.querySelector('#activity-list li').innerText",
    );
    let line = line.as_str().unwrap_or_default();
    assert!(
        line.contains("replay dry run") && line.contains(&format!("correlation id sync-{tenant}-")),
        "{line}"
    );
    let real = js(&tab, "document.getElementById('replay-real').disabled");
    assert_eq!(
        real,
        serde_json::json!(false),
        "the real replay is offered after a dry run"
    );

    // Switch the POS target off: it asks, then the tenant's status shows it off.
    let pos = "#targets-list li[data-target=pos]";
    tab.find_element(&format!("{pos} button"))?.click()?;
    let asked = js(&tab, "document.getElementById('confirm-title').textContent");
    assert_eq!(asked, serde_json::json!("Switch the target off?"));
    confirm(&tab);
    wait_until(
        &tab,
        "pos to show off",
        &format!("document.querySelector('{pos}').dataset.enabled === 'false'"),
    );
    let off = js(&tab, &format!("Array.from(document.querySelectorAll('#flags-table tbody tr')).find(r => r.dataset.tenant === '{tenant}').cells[4].textContent"));
    assert_eq!(
        off,
        serde_json::json!("pos"),
        "the status names the target off"
    );
    let line = js(
        &tab,
        "document.querySelector('#activity-list li').innerText",
    );
    let line = line.as_str().unwrap_or_default();
    assert!(
        line.contains("switch pos off") && line.contains(&format!("correlation id sync-{tenant}-")),
        "{line}"
    );
    Ok(())
}
