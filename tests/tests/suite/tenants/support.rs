//! What the tenant tests share: running `synchub tenant …` as parsed from a
//! command line, and reading what it wrote.

use clap::Parser;
use serde_json::Value;
use std::time::Duration;
use synchub_aws::dynamodb::DynamoTenantDirectory;
use synchub_aws::ssm::SsmSecretStore;
use synchub_cli::args::{Cli, Command};
use synchub_core::domain::webhook_signature::WebhookSecret;
use synchub_core::domain::TenantId;
use synchub_core::ports::{TenantDirectory, TenantSettings};
use synchub_tests::*;

pub const API: &str = "https://abc123.execute-api.us-east-1.amazonaws.com";

/// Runs `synchub tenant <args>` on the stack: its output, or its error report.
pub async fn tenant_cmd(stack: &TestStack, args: &[&str]) -> Result<String, String> {
    let line = ["synchub", "tenant"]
        .into_iter()
        .chain(args.iter().copied());
    let cli = Cli::try_parse_from(line).map_err(|e| e.to_string())?;
    let Command::Tenant { command } = cli.command else {
        panic!("not a tenant command: {args:?}")
    };
    synchub_cli::tenant::run(&stack.aws, &stack.config, command)
        .await
        .map_err(|e| synchub_cli::error_report(&*e))
}

pub async fn json_cmd(stack: &TestStack, args: &[&str]) -> Value {
    let args: Vec<&str> = args.iter().copied().chain(["--json"]).collect();
    let text = tenant_cmd(stack, &args).await.expect("command succeeds");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

pub fn directory(stack: &TestStack) -> DynamoTenantDirectory {
    DynamoTenantDirectory::new(stack.dynamo(), &stack.config.tenants_table, Duration::ZERO)
}

pub fn vault(stack: &TestStack) -> SsmSecretStore {
    SsmSecretStore::new(
        aws_sdk_ssm::Client::new(&stack.aws),
        &stack.config.tenant_secrets_path,
        Duration::ZERO,
    )
}

pub async fn settings(stack: &TestStack, tenant: &str) -> Option<TenantSettings> {
    directory(stack)
        .settings(&TenantId::parse(tenant).unwrap())
        .await
        .unwrap()
}

/// A parameter's type and decrypted value.
pub async fn parameter(stack: &TestStack, tenant: &str, name: &str) -> Option<(String, String)> {
    let out = aws_sdk_ssm::Client::new(&stack.aws)
        .get_parameter()
        .name(format!(
            "{}/{tenant}/{name}",
            stack.config.tenant_secrets_path
        ))
        .with_decryption(true)
        .send()
        .await
        .ok()?;
    let p = out.parameter?;
    Some((p.r#type?.as_str().to_owned(), p.value?))
}

/// A supplier webhook signed with `secret`, through the real ingest handler.
pub async fn deliver(stack: &TestStack, tenant: &str, secret: &str, id: &str) -> u16 {
    let secret = WebhookSecret::parse(secret).unwrap();
    let body = supplier_event(id, "SKU-1", 3, "2026-06-01T10:00:00Z").to_string();
    let event = apigw_event(tenant, &signed_headers(&secret, id, &body), &body);
    invoke_ingest(&stack.ingest(), &event).await.0
}

pub async fn add(stack: &TestStack, tenant: &str, extra: &[&str]) -> Value {
    let mut args = vec!["add", "--tenant", tenant, "--api-url", API];
    args.extend_from_slice(extra);
    json_cmd(stack, &args).await
}
