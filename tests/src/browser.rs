//! Debian's Chromium, driven over the DevTools protocol (headless_chrome,
//! nothing downloaded), for the dashboard's browser tests and benchmark.
//! scripts/bootstrap.sh installs the package; without it these panic with
//! how to install it, so a browser test can never pass without a browser.

use headless_chrome::{Browser, LaunchOptions, Tab};
use std::path::PathBuf;
use std::time::Duration;

/// The Chromium binary: `$CHROMIUM`, else the first of Debian's names on PATH.
pub fn chromium() -> PathBuf {
    if let Some(path) = std::env::var_os("CHROMIUM") {
        return PathBuf::from(path);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    let dirs: Vec<PathBuf> = std::env::split_paths(&path).collect();
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .flat_map(|name| dirs.iter().map(move |dir| dir.join(name)))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "no Chromium found for the dashboard's browser tests. Install Debian's package: \
                 `apt-get update && apt-get install -y chromium` (scripts/bootstrap.sh does this \
                 when it runs as root), or set CHROMIUM to a Chromium or Chrome binary"
            )
        })
}

/// A headless Chromium with a tall window (the dashboard's main view).
pub fn launch() -> Browser {
    let options = LaunchOptions::default_builder()
        .path(Some(chromium()))
        .headless(true)
        // Tests often run as root, where Chromium's sandbox cannot start.
        .sandbox(false)
        .window_size(Some((1400, 1800)))
        .idle_browser_timeout(Duration::from_secs(300))
        .build()
        .expect("launch options");
    // A Chromium that dies as it starts (a loaded machine, a full /dev/shm)
    // says nothing of the page: it is started again, twice at most, and the
    // last failure is what the test reports.
    let mut failures = Vec::new();
    for _ in 0..3 {
        match Browser::new(options.clone()) {
            Ok(browser) => return browser,
            Err(e) => {
                eprintln!("Chromium did not start: {e:#}");
                failures.push(format!("{e:#}"));
                std::thread::sleep(Duration::from_millis(500));
            }
        }
    }
    panic!(
        "Chromium ({}) did not start in 3 tries: {failures:?}",
        chromium().display()
    )
}

/// Runs JavaScript in the page (awaiting a promise) and answers its value.
pub fn js(tab: &Tab, expression: &str) -> serde_json::Value {
    let wrapped = format!("(async () => JSON.stringify(await ({expression})))()");
    let text = tab
        .evaluate(&wrapped, true)
        .unwrap_or_else(|e| panic!("{expression}: {e}"))
        .value
        .unwrap_or(serde_json::Value::Null);
    match text.as_str() {
        Some(json) => serde_json::from_str(json).unwrap_or(serde_json::Value::Null),
        None => serde_json::Value::Null,
    }
}

/// Waits (up to 20 s) until `expression` is true in the page.
pub fn wait_until(tab: &Tab, what: &str, expression: &str) {
    for _ in 0..200 {
        if js(tab, expression) == serde_json::Value::Bool(true) {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let body = js(tab, "document.querySelector('main').innerText");
    panic!("timed out waiting for {what} ({expression}); the page shows:\n{body}");
}
