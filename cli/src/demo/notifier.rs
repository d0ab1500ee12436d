//! The DLQ after the run: the real failure-notifier consumes it, and the
//! alert it sent is read back from the local SES and shown as text.

use super::Error;
use crate::event_source::LocalEventSource;
use crate::local;
use aws_config::SdkConfig;
use synchub_lambda::config::Config;
use synchub_lambda::{notify::handle_failures, Notifier};

/// Shows what the DLQ holds, runs the notifier over it, and prints the email.
pub(super) async fn report_dead_letters(aws: &SdkConfig, config: &Config) -> Result<(), Error> {
    let dlq = LocalEventSource::new(aws_sdk_sqs::Client::new(aws), &config.sync_dlq_url);
    println!("DLQ         {} message(s) parked", dlq.depth().await?);
    let notifier = Notifier::new(aws, config);
    let before = local::sent_emails(&moto_endpoint()).await?.len();
    while dlq
        .poll_once(|event| handle_failures(&notifier, &config.notify_queue_url, event))
        .await?
        .received
        > 0
    {}
    for email in local::sent_emails(&moto_endpoint())
        .await?
        .into_iter()
        .skip(before)
    {
        println!(
            "notifier    emailed {} (SES, in the emulator): \"{}\"",
            email.to.join(", "),
            email.subject
        );
        for line in html_to_lines(&email.body).iter().take(14) {
            println!("  │ {line}");
        }
    }
    println!(
        "DLQ         {} message(s) left: the notifier keeps each dead letter for `synchub replay`",
        dlq.depth().await?
    );
    Ok(())
}

/// The local SES's base URL, where its sent emails can be read.
fn moto_endpoint() -> String {
    std::env::var("AWS_ENDPOINT_URL_SES").unwrap_or_default()
}

/// Readable lines of the HTML part, for the terminal.
fn html_to_lines(html: &str) -> Vec<String> {
    let mut text = String::new();
    let mut in_tag = false;
    for c in html
        .replace("</th>", ": ")
        .replace("</tr>", "\n")
        .replace("<br>", "\n")
        .replace("</li>", "\n")
        .replace("</h2>", "\n")
        .replace("</p>", "\n")
        .chars()
    {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    let text = text
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
        .replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&#x2f;", "/");
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_reads_as_lines() {
        let html = "<h2>2 failures</h2><table><tr><th>tenant</th><td>demo&amp;co</td></tr></table><p>run <code>synchub replay</code></p>";
        assert_eq!(
            html_to_lines(html),
            ["2 failures", "tenant: demo&co", "run synchub replay"]
        );
    }
}
