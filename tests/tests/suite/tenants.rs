//! Tenant onboarding (`synchub tenant add|show|set|list|rotate-secret`)
//! against the local engines: the commands as parsed from a command line,
//! and their use cases where the error's field is the point. Settings land
//! in DynamoDB Local, credentials in moto's SSM as SecureStrings, and the
//! real ingest handler takes the secrets a command wrote. The rules every
//! command keeps (no stored secret printed, bad input named, no lost
//! update) are in `tenants/rules.rs`.

#[path = "tenants/rules.rs"]
mod rules;
#[path = "tenants/support.rs"]
mod support;

use std::time::Duration;
use support::*;
use synchub_core::domain::time::now_millis;
use synchub_core::domain::webhook_signature::WebhookSecret;
use synchub_core::domain::TenantId;
use synchub_tests::*;

#[tokio::test]
async fn add_writes_the_settings_and_secure_strings_and_prints_the_webhook_urls() {
    let stack = TestStack::new().await;
    let id = unique("acme");
    let credentials = [
        ("--square-token", "square-token", "EAAA-onboarding-token"),
        ("--hubspot-token", "hubspot-token", "pat-na1-onboarding"),
        ("--shopify-secret", "shopify-secret", "shpss_onboarding"),
        (
            "--square-signature-key",
            "square-signature-key",
            "sq-sig-onboarding",
        ),
    ];
    let mut args = vec![
        "add",
        "--tenant",
        &id,
        "--api-url",
        API,
        "--name",
        "Acme Goods",
        "--storefront-url",
        "https://shop.acme.example/cache-bust",
        "--alert-recipient",
        "ops@acme.example",
    ];
    for (option, _, value) in &credentials {
        args.extend_from_slice(&[option, value]);
    }

    let out = tenant_cmd(&stack, &args).await.expect("add");

    for source in ["supplier", "shopify", "square"] {
        let url = format!("{API}/webhooks/{source}/{id}");
        assert!(out.contains(&url), "{url} not printed:\n{out}");
    }
    let printed = out
        .split_whitespace()
        .find(|w| w.starts_with("whsec_"))
        .expect("the new signing secret is printed once");
    let (kind, stored) = parameter(&stack, &id, "webhook-secret").await.unwrap();
    assert_eq!((kind.as_str(), stored.as_str()), ("SecureString", printed));
    for (_, name, value) in &credentials {
        let (kind, stored) = parameter(&stack, &id, name).await.unwrap();
        assert_eq!(
            (kind.as_str(), stored.as_str()),
            ("SecureString", *value),
            "{name}"
        );
    }
    let s = settings(&stack, &id).await.expect("settings item written");
    assert_eq!((s.name.as_str(), s.active), ("Acme Goods", true));
    assert_eq!(
        s.storefront_url.as_deref(),
        Some("https://shop.acme.example/cache-bust")
    );
    assert_eq!(s.alert_recipients, ["ops@acme.example"]);
    let square_url = format!("{API}/webhooks/square/{id}");
    assert_eq!(
        s.square_notification_url.as_deref(),
        Some(square_url.as_str())
    );
    // The tenant is live: a webhook signed with the printed secret is accepted.
    assert_eq!(deliver(&stack, &id, printed, "evt-onboarded").await, 202);

    let shown = tenant_cmd(&stack, &["show", "--tenant", &id, "--api-url", API])
        .await
        .unwrap();
    for (_, name, _) in &credentials {
        assert!(shown.contains(name), "{name} not listed:\n{shown}");
    }
    assert!(
        shown.contains("SecureString") && shown.contains(&square_url),
        "{shown}"
    );
    let view = json_cmd(&stack, &["show", "--tenant", &id]).await;
    assert_eq!(view["settings"]["tenantId"], id.as_str());
    assert_eq!(view["parameters"].as_array().unwrap().len(), 5, "{view}");
    assert_eq!(view["signingSecrets"]["current"], 1);
}

#[tokio::test]
async fn adding_an_existing_tenant_is_refused_and_changes_nothing() {
    let stack = TestStack::new().await;
    let seeded = stack.tenant(None).await;
    let before = settings(&stack, &seeded.id).await.unwrap();

    let err = tenant_cmd(
        &stack,
        &[
            "add",
            "--tenant",
            &seeded.id,
            "--api-url",
            API,
            "--name",
            "Other",
            "--square-token",
            "EAAA-x",
        ],
    )
    .await
    .unwrap_err();

    assert!(err.contains("already exists"), "{err}");
    assert_eq!(settings(&stack, &seeded.id).await.unwrap(), before);
    let (_, secret) = parameter(&stack, &seeded.id, "webhook-secret")
        .await
        .unwrap();
    assert_eq!(secret, seeded.secret_text);
    assert_eq!(parameter(&stack, &seeded.id, "square-token").await, None);

    // Added once by the command, a second add changes nothing either.
    let id = unique("shop");
    let first = add(&stack, &id, &[]).await;
    assert!(
        tenant_cmd(&stack, &["add", "--tenant", &id, "--api-url", API])
            .await
            .is_err()
    );
    let (_, secret) = parameter(&stack, &id, "webhook-secret").await.unwrap();
    assert_eq!(secret, first["signingSecret"].as_str().unwrap());

    // Parameters left from an earlier tenant: refused, naming them; no settings written.
    let orphan = unique("gone");
    stack
        .put_parameter(&orphan, "square-token", "EAAA-old")
        .await;
    let err = tenant_cmd(&stack, &["add", "--tenant", &orphan, "--api-url", API])
        .await
        .unwrap_err();
    assert!(err.contains("square-token"), "{err}");
    assert_eq!(settings(&stack, &orphan).await, None);
    assert_eq!(parameter(&stack, &orphan, "webhook-secret").await, None);
}

#[tokio::test]
async fn set_changes_each_field_it_is_given_and_only_those() {
    let stack = TestStack::new().await;
    let id = unique("shop");
    add(
        &stack,
        &id,
        &["--name", "Before", "--alert-recipient", "a@shop.example"],
    )
    .await;

    let changed = json_cmd(
        &stack,
        &[
            "set",
            "--tenant",
            &id,
            "--storefront-url",
            "https://shop.example/bust",
            "--alert-recipient",
            "ops@shop.example",
            "--alert-recipient",
            "cto@shop.example",
            "--daily-summary",
            "on",
            "--disable-target",
            "crm",
            "--disable-target",
            "storefront",
            "--flag",
            "ENABLE_POS_SYNC=on",
            "--flag",
            "ENABLE_UPDATE_SYNC=off",
            "--sync-method",
            "direct",
            "--allow-supplier",
            "sup-1",
            "--allow-supplier",
            "sup-2",
        ],
    )
    .await;

    let s = settings(&stack, &id).await.unwrap();
    assert_eq!(s.name, "Before", "a field not given is kept");
    assert_eq!(
        s.storefront_url.as_deref(),
        Some("https://shop.example/bust")
    );
    assert_eq!(s.alert_recipients, ["ops@shop.example", "cto@shop.example"]);
    assert!(s.daily_summary);
    assert_eq!(s.targets_disabled, ["crm", "storefront"]);
    assert_eq!(s.flag_overrides.get("ENABLE_POS_SYNC"), Some(&true));
    assert_eq!(s.flag_overrides.get("ENABLE_UPDATE_SYNC"), Some(&false));
    assert_eq!(s.sync_method.as_deref(), Some("direct"));
    assert_eq!(s.allowed_suppliers, ["sup-1", "sup-2"]);
    assert_eq!(changed["changed"].as_array().unwrap().len(), 7, "{changed}");

    tenant_cmd(
        &stack,
        &[
            "set",
            "--tenant",
            &id,
            "--no-storefront-url",
            "--default-alert-recipient",
            "--daily-summary",
            "off",
            "--enable-target",
            "crm",
            "--flag",
            "ENABLE_POS_SYNC=default",
            "--sync-method",
            "queued",
            "--disallow-supplier",
            "sup-1",
            "--active",
            "off",
            "--name",
            "After",
            "--hubspot-token",
            "pat-rotated",
        ],
    )
    .await
    .expect("set back");
    let s = settings(&stack, &id).await.unwrap();
    assert_eq!(
        (s.name.as_str(), s.active, s.daily_summary),
        ("After", false, false)
    );
    assert_eq!(s.storefront_url, None);
    assert!(s.alert_recipients.is_empty());
    assert_eq!(s.targets_disabled, ["storefront"]);
    assert!(!s.flag_overrides.contains_key("ENABLE_POS_SYNC"));
    assert_eq!(s.sync_method.as_deref(), Some("queued"));
    assert_eq!(s.allowed_suppliers, ["sup-2"]);
    let (kind, token) = parameter(&stack, &id, "hubspot-token").await.unwrap();
    assert_eq!(
        (kind.as_str(), token.as_str()),
        ("SecureString", "pat-rotated")
    );

    let err = tenant_cmd(&stack, &["set", "--tenant", &id])
        .await
        .unwrap_err();
    assert!(err.contains("nothing to change"), "{err}");
    let err = tenant_cmd(
        &stack,
        &["set", "--tenant", "no-such-shop", "--daily-summary", "on"],
    )
    .await
    .unwrap_err();
    assert!(err.contains("not known"), "{err}");
}

#[tokio::test]
async fn list_shows_every_tenant_active_or_not() {
    let stack = TestStack::new().await;
    let (a, b) = (unique("a-shop"), unique("b-shop"));
    add(&stack, &a, &[]).await;
    add(&stack, &b, &["--active", "off"]).await;

    let listed = json_cmd(&stack, &["list"]).await;
    let text = tenant_cmd(&stack, &["list"]).await.unwrap();

    let ids: Vec<&str> = listed["tenants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["tenantId"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [a.as_str(), b.as_str()]);
    assert_eq!(listed["tenants"][1]["active"], false);
    assert!(
        text.contains(&a) && text.contains(&b) && text.contains("2 tenant(s)"),
        "{text}"
    );
}

#[tokio::test]
async fn a_rotated_secret_verifies_beside_the_old_one_until_the_overlap_ends_then_only_the_new_one()
{
    let stack = TestStack::new().await;
    let id = unique("shop");
    let old = add(&stack, &id, &[]).await["signingSecret"]
        .as_str()
        .unwrap()
        .to_owned();

    let rotated = json_cmd(
        &stack,
        &["rotate-secret", "--tenant", &id, "--overlap", "3s"],
    )
    .await;
    let rotated_at = now_millis();
    let new = rotated["newSecret"].as_str().unwrap().to_owned();

    assert_ne!(new, old);
    assert_eq!(rotated["secrets"]["current"], 1);
    assert_eq!(rotated["secrets"]["retiring"].as_array().unwrap().len(), 1);
    // What ingest's store answers during the overlap and after it.
    let store = vault(&stack);
    let tenant = TenantId::parse(&id).unwrap();
    let during = store
        .webhook_secrets_at(&tenant, rotated_at)
        .await
        .unwrap()
        .unwrap();
    let after = store
        .webhook_secrets_at(&tenant, rotated_at + 3_100)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((during.len(), after.len()), (2, 1));
    let signature = WebhookSecret::parse(&new).unwrap().sign("m", 1, b"{}");
    assert_eq!(
        after[0].sign("m", 1, b"{}"),
        signature,
        "the one left is the new one"
    );
    // Through the real handler: both verify now; after the overlap only the new one.
    assert_eq!(deliver(&stack, &id, &old, "evt-old-1").await, 202);
    assert_eq!(deliver(&stack, &id, &new, "evt-new-1").await, 202);
    let left = 3_300 - (now_millis() - rotated_at);
    tokio::time::sleep(Duration::from_millis(left.max(0) as u64)).await;
    assert_eq!(deliver(&stack, &id, &old, "evt-old-2").await, 401);
    assert_eq!(deliver(&stack, &id, &new, "evt-new-2").await, 202);
    let view = json_cmd(&stack, &["show", "--tenant", &id]).await;
    assert_eq!(view["signingSecrets"]["expired"], 1, "{view}");

    // The next rotation clears the expired one; --finish ends an overlap at once.
    let again = json_cmd(
        &stack,
        &["rotate-secret", "--tenant", &id, "--overlap", "1h"],
    )
    .await;
    assert_eq!(again["removed"], 1, "{again}");
    let finished = json_cmd(&stack, &["rotate-secret", "--tenant", &id, "--finish"]).await;
    assert_eq!(finished["removed"], 1, "{finished}");
    assert!(finished.get("newSecret").is_none());
    let left = store
        .webhook_secrets_at(&tenant, now_millis())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(left.len(), 1);
    let newest = again["newSecret"].as_str().unwrap();
    assert_eq!(deliver(&stack, &id, newest, "evt-newest").await, 202);
    assert_eq!(deliver(&stack, &id, &new, "evt-new-3").await, 401);
}
