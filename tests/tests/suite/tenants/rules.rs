//! The rules every tenant command keeps: no output carries a stored secret,
//! bad input is refused naming its field with nothing written, concurrent
//! updates never lose one another, and a broken table stores nothing.

use super::support::*;
use synchub_core::domain::time::now_millis;
use synchub_core::domain::TenantId;
use synchub_core::ports::tenant_admin::TenantAdmin;
use synchub_ops::tenants::{
    self, Credentials, NewTenant, Rotation, SettingsChange, TenantAdminError, TenantPorts,
};
use synchub_tests::*;

/// The field a refusal names.
fn field<T>(result: Result<T, TenantAdminError>) -> String {
    match result {
        Err(TenantAdminError::Invalid(e)) => e.field,
        Err(other) => panic!("not a validation error: {other}"),
        Ok(_) => panic!("accepted"),
    }
}

#[tokio::test]
async fn no_command_prints_a_stored_secret() {
    let stack = TestStack::new().await;
    let id = unique("shop");
    let added = add(
        &stack,
        &id,
        &[
            "--square-token",
            "EAAA-never-printed",
            "--shopify-secret",
            "shpss_never_printed",
        ],
    )
    .await;
    let mut stored = vec![
        added["signingSecret"].as_str().unwrap().to_owned(),
        "EAAA-never-printed".to_owned(),
        "shpss_never_printed".to_owned(),
    ];
    let check = |out: &str, stored: &[String]| {
        for secret in stored {
            assert!(
                !out.contains(secret.as_str()),
                "a stored secret was printed:\n{out}"
            );
        }
    };

    for json in [false, true] {
        let with = |args: &[&'static str]| {
            let mut args = args.to_vec();
            if json {
                args.push("--json");
            }
            args
        };
        let show = tenant_cmd(
            &stack,
            &[&with(&["show", "--api-url", API])[..], &["--tenant", &id]].concat(),
        )
        .await
        .unwrap();
        check(&show, &stored);
        let list = tenant_cmd(&stack, &with(&["list"])).await.unwrap();
        check(&list, &stored);
        let set = tenant_cmd(
            &stack,
            &[
                &with(&[
                    "set",
                    "--daily-summary",
                    "on",
                    "--hubspot-token",
                    "pat-never-printed",
                ])[..],
                &["--tenant", &id],
            ]
            .concat(),
        )
        .await;
        let set = set.unwrap_or_else(|e| e);
        check(&set, &stored);
        assert!(!set.contains("pat-never-printed"), "{set}");
        stored.push("pat-never-printed".to_owned());
        let rotate = tenant_cmd(
            &stack,
            &[
                &with(&["rotate-secret", "--overlap", "1h"])[..],
                &["--tenant", &id],
            ]
            .concat(),
        )
        .await
        .unwrap();
        check(&rotate, &stored);
        let new = rotate
            .split(|c: char| c.is_whitespace() || c == '"')
            .find(|w| w.starts_with("whsec_"))
            .expect("the new secret is shown once")
            .to_owned();
        stored.push(new);
        let finish = tenant_cmd(
            &stack,
            &[
                &with(&["rotate-secret", "--finish"])[..],
                &["--tenant", &id],
            ]
            .concat(),
        )
        .await
        .unwrap();
        check(&finish, &stored);
    }
}

#[tokio::test]
async fn bad_input_is_refused_naming_the_field_and_nothing_is_written() {
    let stack = TestStack::new().await;
    let (admin, vault) = (directory(&stack), vault(&stack));
    let ports = TenantPorts {
        admin: &admin,
        vault: &vault,
    };
    let request = |tenant: &str| NewTenant {
        tenant_id: tenant.to_owned(),
        api_url: API.to_owned(),
        signing_secret: synchub_cli::local::new_signing_secret(),
        credentials: Credentials::default(),
        settings: SettingsChange::default(),
    };
    let id = unique("shop");
    let unknown_flag = NewTenant {
        settings: SettingsChange {
            flags: vec!["ENABLE_TELEPORT=on".into()],
            ..Default::default()
        },
        ..request(&id)
    };
    let bad_storefront = NewTenant {
        settings: SettingsChange {
            storefront_url: Some(Some("ftp://shop.example".into())),
            ..Default::default()
        },
        ..request(&id)
    };
    let bad_api = NewTenant {
        api_url: "not a url".into(),
        ..request(&id)
    };
    let bad_token = NewTenant {
        credentials: Credentials {
            square_token: Some("two words".into()),
            ..Default::default()
        },
        ..request(&id)
    };
    assert_eq!(
        field(tenants::add(&ports, &request("bad!shop")).await),
        "tenantId"
    );
    assert_eq!(
        field(tenants::add(&ports, &unknown_flag).await),
        "flagOverrides"
    );
    assert_eq!(
        field(tenants::add(&ports, &bad_storefront).await),
        "storefrontUrl"
    );
    assert_eq!(field(tenants::add(&ports, &bad_api).await), "apiUrl");
    assert_eq!(field(tenants::add(&ports, &bad_token).await), "squareToken");
    assert_eq!(settings(&stack, &id).await, None);
    assert_eq!(parameter(&stack, &id, "webhook-secret").await, None);

    tenants::add(&ports, &request(&id))
        .await
        .expect("a good add");
    let before = admin
        .load(&TenantId::parse(&id).unwrap())
        .await
        .unwrap()
        .unwrap();
    let bad_set = SettingsChange {
        flags: vec!["ENABLE_POS_SYNC=maybe".into()],
        ..Default::default()
    };
    assert_eq!(
        field(tenants::set(&ports, &id, &bad_set, &Credentials::default()).await),
        "flagOverrides"
    );
    assert_eq!(
        field(tenants::show(&ports, "bad shop", None).await),
        "tenantId"
    );
    let soon = Rotation::Start {
        new_secret: synchub_cli::local::new_signing_secret(),
        overlap: "soon".into(),
    };
    assert_eq!(
        field(tenants::rotate_secret(&ports, &id, &soon, now_millis()).await),
        "overlap"
    );
    let after = admin
        .load(&TenantId::parse(&id).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(after, before, "nothing changed");

    // The command line names the option of a closed set.
    let err = tenant_cmd(&stack, &["set", "--tenant", &id, "--disable-target", "erp"])
        .await
        .unwrap_err();
    assert!(
        err.contains("--disable-target") && err.contains("pos, crm, storefront"),
        "{err}"
    );
    let err = tenant_cmd(
        &stack,
        &["set", "--tenant", &id, "--storefront-url", "shop"],
    )
    .await
    .unwrap_err();
    assert!(err.contains("storefrontUrl"), "{err}");
}

#[tokio::test]
async fn concurrent_updates_never_lose_one_another() {
    let stack = TestStack::new().await;
    let id = unique("shop");
    add(&stack, &id, &[]).await;
    let (admin, vault) = (directory(&stack), vault(&stack));
    let ports = TenantPorts {
        admin: &admin,
        vault: &vault,
    };

    let updates = (0..6).map(|i| {
        let change = SettingsChange {
            allow_suppliers: vec![format!("sup-{i}")],
            ..Default::default()
        };
        let ports = &ports;
        let id = &id;
        async move {
            (
                i,
                tenants::set(ports, id, &change, &Credentials::default()).await,
            )
        }
    });
    let results = futures::future::join_all(updates).await;

    let s = settings(&stack, &id).await.unwrap();
    for (i, result) in &results {
        match result {
            Ok(_) => assert!(
                s.allowed_suppliers.contains(&format!("sup-{i}")),
                "lost sup-{i}: {s:?}"
            ),
            Err(TenantAdminError::Conflict(_)) => {}
            Err(other) => panic!("{other}"),
        }
    }
    assert!(results.iter().any(|(_, r)| r.is_ok()));
    // A write from a stale revision is refused by the table itself.
    let tenant = TenantId::parse(&id).unwrap();
    let stored = admin.load(&tenant).await.unwrap().unwrap();
    assert!(admin
        .replace(&stored.settings, stored.revision)
        .await
        .unwrap());
    assert!(!admin
        .replace(&stored.settings, stored.revision)
        .await
        .unwrap());
}

#[tokio::test]
async fn a_missing_tenants_table_fails_add_before_anything_is_stored() {
    let mut stack = TestStack::new().await;
    stack.config.tenants_table = format!("{}-no-such-table", stack.prefix);
    let id = unique("shop");

    let err = tenant_cmd(&stack, &["add", "--tenant", &id, "--api-url", API])
        .await
        .unwrap_err();

    assert!(err.contains("DynamoDB"), "{err}");
    assert_eq!(parameter(&stack, &id, "webhook-secret").await, None);
}
