//! template.yaml and the local stack describe the same resources: names,
//! keys, TTL, queue settings, and the variables the functions read.

use serde_yaml::Value;
use synchub_cli::local::{
    AUDIT_TTL_ATTRIBUTE, DLQ_RETENTION_SECONDS, MAX_RECEIVE_COUNT, NOTIFIER_TIMEOUT_SECONDS,
    NOTIFY_MAX_RECEIVE_COUNT, NOTIFY_QUEUE_VISIBILITY_SECONDS, QUEUE_RETENTION_SECONDS,
    QUEUE_VISIBILITY_SECONDS, WORKER_TIMEOUT_SECONDS,
};
use synchub_lambda::config::Config;

fn template() -> Value {
    let text = std::fs::read_to_string(synchub_tests::repo_root().join("template.yaml")).unwrap();
    serde_yaml::from_str(&text).expect("template.yaml parses")
}

fn int(v: &Value) -> u64 {
    v.as_u64()
        .unwrap_or_else(|| panic!("expected a number, got {v:?}"))
}

fn keys(table: &Value) -> Vec<(String, String)> {
    table["Properties"]["KeySchema"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|k| {
            (
                k["AttributeName"].as_str().unwrap().to_owned(),
                k["KeyType"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn queue_settings_match_the_local_stack_and_visibility_is_six_times_the_worker_timeout() {
    let t = template();
    let r = &t["Resources"];
    let queue = &r["SyncEventsQueue"]["Properties"];
    let worker_timeout = int(&r["SyncWorkerFunction"]["Properties"]["Timeout"]);
    assert_eq!(worker_timeout, WORKER_TIMEOUT_SECONDS as u64);
    assert_eq!(
        int(&queue["VisibilityTimeout"]),
        QUEUE_VISIBILITY_SECONDS as u64
    );
    assert!(int(&queue["VisibilityTimeout"]) >= 6 * worker_timeout);
    assert_eq!(
        int(&queue["MessageRetentionPeriod"]),
        QUEUE_RETENTION_SECONDS as u64
    );
    assert_eq!(
        int(&queue["RedrivePolicy"]["maxReceiveCount"]),
        MAX_RECEIVE_COUNT as u64
    );
    assert_eq!(
        int(&r["SyncEventsDLQ"]["Properties"]["MessageRetentionPeriod"]),
        DLQ_RETENTION_SECONDS as u64
    );
    let source = &r["SyncWorkerFunction"]["Properties"]["Events"]["SyncEvents"]["Properties"];
    assert_eq!(
        source["FunctionResponseTypes"][0],
        "ReportBatchItemFailures"
    );
}

#[test]
fn the_notifier_consumes_the_sync_dlq_and_the_notifications_queue_with_six_times_its_timeout() {
    let t = template();
    let r = &t["Resources"];
    let notifier = &r["FailureNotifierFunction"]["Properties"];
    assert_eq!(int(&notifier["Timeout"]), NOTIFIER_TIMEOUT_SECONDS as u64);
    for queue in ["SyncEventsDLQ", "NotificationsQueue"] {
        assert_eq!(
            int(&r[queue]["Properties"]["VisibilityTimeout"]),
            NOTIFY_QUEUE_VISIBILITY_SECONDS as u64,
            "{queue}"
        );
        assert!(
            int(&r[queue]["Properties"]["VisibilityTimeout"])
                >= 6 * NOTIFIER_TIMEOUT_SECONDS as u64
        );
    }
    assert_eq!(
        int(&r["NotificationsQueue"]["Properties"]["RedrivePolicy"]["maxReceiveCount"]),
        NOTIFY_MAX_RECEIVE_COUNT as u64
    );
    let sources: Vec<String> = notifier["Events"]
        .as_mapping()
        .unwrap()
        .values()
        .map(|e| format!("{:?}", e["Properties"]["Queue"]))
        .collect();
    assert!(
        sources.iter().any(|q| q.contains("SyncEventsDLQ"))
            && sources.iter().any(|q| q.contains("NotificationsQueue")),
        "{sources:?}"
    );
    for event in notifier["Events"].as_mapping().unwrap().values() {
        assert_eq!(
            event["Properties"]["FunctionResponseTypes"][0],
            "ReportBatchItemFailures"
        );
    }
    // The alarms the runbook names.
    for alarm in [
        "SyncDLQDepthAlarm",
        "NotificationsDLQDepthAlarm",
        "SyncQueueLagAlarm",
        "WebhookIngestErrorRateAlarm",
        "SyncWorkerErrorRateAlarm",
        "FailureNotifierErrorRateAlarm",
    ] {
        assert_eq!(r[alarm]["Type"], "AWS::CloudWatch::Alarm", "{alarm}");
    }
    assert_eq!(int(&r["SyncQueueLagAlarm"]["Properties"]["Threshold"]), 90);
}

#[test]
fn daily_sync_runs_on_a_schedule_and_its_queue_outlasts_six_timeouts() {
    let t = template();
    let r = &t["Resources"];
    let f = &r["DailySyncFunction"]["Properties"];
    assert_eq!(
        int(&f["Timeout"]),
        synchub_cli::local::DAILY_SYNC_TIMEOUT_SECONDS as u64
    );
    assert_eq!(
        int(&r["SyncRunsQueue"]["Properties"]["VisibilityTimeout"]),
        synchub_cli::local::RUNS_QUEUE_VISIBILITY_SECONDS as u64
    );
    assert_eq!(f["Events"]["Daily"]["Type"], "ScheduleV2");
    assert_eq!(
        t["Parameters"]["DailySyncSchedule"]["Default"],
        "cron(0 2 * * ? *)"
    );
    assert_eq!(
        f["Events"]["Runs"]["Properties"]["FunctionResponseTypes"][0],
        "ReportBatchItemFailures"
    );
    assert_eq!(
        r["DailySyncNotFinishingAlarm"]["Type"],
        "AWS::CloudWatch::Alarm"
    );
}

#[test]
fn tables_have_the_keys_ttl_and_names_the_code_uses() {
    let t = template();
    let r = &t["Resources"];
    let pk_sk = vec![
        ("pk".to_owned(), "HASH".to_owned()),
        ("sk".to_owned(), "RANGE".to_owned()),
    ];
    assert_eq!(keys(&r["ItemsTable"]), pk_sk);
    assert_eq!(keys(&r["AuditTable"]), pk_sk);
    assert_eq!(
        keys(&r["TenantsTable"]),
        vec![("pk".to_owned(), "HASH".to_owned())]
    );
    assert_eq!(keys(&r["NotificationsTable"]), pk_sk);
    assert_eq!(
        r["AuditTable"]["Properties"]["TimeToLiveSpecification"]["AttributeName"],
        AUDIT_TTL_ATTRIBUTE
    );
    assert_eq!(
        r["NotificationsTable"]["Properties"]["TimeToLiveSpecification"]["AttributeName"],
        AUDIT_TTL_ATTRIBUTE
    );
    let names: Vec<String> = synchub_cli::local::table_names("${NamePrefix}")
        .iter()
        .map(|(n, _)| n.clone())
        .collect();
    for (resource, name) in [
        "ItemsTable",
        "AuditTable",
        "TenantsTable",
        "NotificationsTable",
        "SyncRunsTable",
    ]
    .iter()
    .zip(&names)
    {
        let declared = format!("{:?}", r[*resource]["Properties"]["TableName"]);
        assert!(
            declared.contains(name.as_str()),
            "{resource}: {declared} should name {name}"
        );
    }
    for table in [
        "ItemsTable",
        "AuditTable",
        "TenantsTable",
        "NotificationsTable",
        "SyncRunsTable",
    ] {
        if !capacity::CHOOSES.contains(&table) {
            assert_eq!(
                r[table]["Properties"]["BillingMode"], "PAY_PER_REQUEST",
                "{table}"
            );
        }
        assert_eq!(
            r[table]["Properties"]["PointInTimeRecoverySpecification"]
                ["PointInTimeRecoveryEnabled"],
            true,
            "{table}"
        );
    }
}

#[test]
fn every_function_is_a_rust_arm64_lambda_with_json_logs_and_only_known_settings() {
    let t = template();
    let globals = &t["Globals"]["Function"];
    assert_eq!(globals["Runtime"], "provided.al2023");
    assert_eq!(globals["Architectures"][0], "arm64");
    assert_eq!(globals["LoggingConfig"]["LogFormat"], "JSON");
    // Every variable the template sets is one Config reads (a typo would silently fall back to a default).
    let known = [
        "ITEMS_TABLE",
        "ITEM_SHARDS",
        "AUDIT_TABLE",
        "TENANTS_TABLE",
        "SYNC_QUEUE_URL",
        "SYNC_DLQ_URL",
        "TENANT_SECRETS_PATH",
        "AUDIT_TTL_DAYS",
        "TENANT_CACHE_SECONDS",
        "RUST_LOG",
        "NOTIFICATIONS_TABLE",
        "NOTIFY_QUEUE_URL",
        "ALERT_SENDER",
        "ALERT_DEFAULT_RECIPIENT",
        "ALERT_WINDOW_MINUTES",
        "RUNS_TABLE",
        "RUNS_QUEUE_URL",
        "SQUARE_BASE_URL",
        "ORDERS_LOOKBACK_DAYS",
        "HUBSPOT_BASE_URL",
        "ENABLE_POS_SYNC",
        "ENABLE_CRM_SYNC",
        "ENABLE_UPDATE_SYNC",
        "RUNS_DLQ_URL",
        "NOTIFY_DLQ_URL",
        "CANARY_TENANTS",
        "HEALTH_MAX_SYNC_BACKLOG",
        "HEALTH_MAX_DEAD_LETTERS",
        "HEALTH_MAX_FAILED_RUNS",
        "MAINTENANCE_PARAMETER",
    ];
    // Config reads the settings; the target flags are read (at init, through Config) in app/customers.rs.
    let config_source = [
        "shared/lambda/src/config.rs",
        "shared/core/src/app/customers.rs",
    ]
    .map(|f| std::fs::read_to_string(synchub_tests::repo_root().join(f)).unwrap())
    .join("\n");
    for name in known.iter().filter(|n| **n != "RUST_LOG") {
        assert!(
            config_source.contains(&format!("\"{name}\"")),
            "Config must read {name}"
        );
    }
    let mut functions = 0;
    for (name, resource) in t["Resources"].as_mapping().unwrap() {
        if resource["Type"] != "AWS::Serverless::Function" {
            continue;
        }
        functions += 1;
        assert_eq!(
            resource["Metadata"]["BuildMethod"], "rust-cargolambda",
            "{name:?}"
        );
        let binary = resource["Metadata"]["BuildProperties"]["Binary"]
            .as_str()
            .unwrap();
        assert!(
            synchub_tests::repo_root()
                .join("functions")
                .join(binary)
                .join("Cargo.toml")
                .exists(),
            "{name:?}: no crate functions/{binary}"
        );
        let vars = resource["Properties"]["Environment"]["Variables"]
            .as_mapping()
            .cloned()
            .unwrap_or_default();
        for var in vars.keys().chain(
            globals["Environment"]["Variables"]
                .as_mapping()
                .unwrap()
                .keys(),
        ) {
            assert!(
                known.contains(&var.as_str().unwrap()),
                "{name:?} sets unknown variable {var:?}"
            );
        }
    }
    assert_eq!(functions, 5);
}

/// The functions and their HttpApi events, as (function, event name, event).
fn http_routes(t: &Value) -> Vec<(String, String, Value)> {
    let mut routes = Vec::new();
    for (name, resource) in t["Resources"].as_mapping().unwrap() {
        if resource["Type"] != "AWS::Serverless::Function" {
            continue;
        }
        let Some(events) = resource["Properties"]["Events"].as_mapping() else {
            continue;
        };
        for (event_name, event) in events {
            if event["Type"] == "HttpApi" {
                routes.push((
                    name.as_str().unwrap().to_owned(),
                    event_name.as_str().unwrap().to_owned(),
                    event.clone(),
                ));
            }
        }
    }
    routes
}

#[test]
fn every_api_route_is_iam_authorized_and_webhooks_keep_their_signatures() {
    let t = template();
    assert_eq!(
        t["Resources"]["HttpApi"]["Properties"]["Auth"]["EnableIamAuthorizer"],
        true
    );
    // No default authorizer: webhook senders cannot sign with SigV4.
    assert!(t["Resources"]["HttpApi"]["Properties"]["Auth"]
        .get("DefaultAuthorizer")
        .is_none());
    let routes = http_routes(&t);
    let mut api_routes = Vec::new();
    for (function, event, route) in &routes {
        let path = route["Properties"]["Path"].as_str().unwrap();
        let method = route["Properties"]["Method"].as_str().unwrap();
        let authorizer = &route["Properties"]["Auth"]["Authorizer"];
        if path.starts_with("/api/") || path == "/api" {
            assert_eq!(
                authorizer, "AWS_IAM",
                "{function}.{event} ({method} {path}) must be IAM-authorized"
            );
            assert_eq!(function, "SyncApiFunction", "{method} {path}");
            api_routes.push(format!("{} {path}", method.to_lowercase()));
        } else {
            assert!(
                path.starts_with("/webhooks/"),
                "{function}.{event}: {path} is neither a webhook nor an /api route"
            );
            assert!(
                authorizer.is_null(),
                "{function}.{event}: webhook routes authenticate by signature"
            );
        }
    }
    // Every operation openapi.yaml documents is routed to the API, and no other.
    let openapi: Value = serde_yaml::from_str(
        &std::fs::read_to_string(synchub_tests::repo_root().join("openapi.yaml")).unwrap(),
    )
    .unwrap();
    let mut documented = Vec::new();
    for (path, item) in openapi["paths"].as_mapping().unwrap() {
        for method in item.as_mapping().unwrap().keys() {
            let method = method.as_str().unwrap();
            if ["get", "post", "put", "patch", "delete"].contains(&method) {
                documented.push(format!("{method} {}", path.as_str().unwrap()));
            }
        }
    }
    api_routes.sort();
    documented.sort();
    assert_eq!(api_routes, documented);
}

#[test]
fn every_function_has_a_log_group_with_retention() {
    let t = template();
    let resources = t["Resources"].as_mapping().unwrap();
    assert_eq!(t["Parameters"]["LogRetentionDays"]["Default"], 30);
    let groups: Vec<String> = resources
        .values()
        .filter(|r| r["Type"] == "AWS::Logs::LogGroup")
        .map(|g| {
            assert_eq!(
                format!("{:?}", g["Properties"]["RetentionInDays"]),
                format!(
                    "{:?}",
                    serde_yaml::from_str::<Value>("!Ref LogRetentionDays").unwrap()
                ),
                "{g:?}"
            );
            format!("{:?}", g["Properties"]["LogGroupName"])
        })
        .collect();
    for (name, resource) in resources {
        if resource["Type"] != "AWS::Serverless::Function" {
            continue;
        }
        let name = name.as_str().unwrap();
        let expected = format!("/aws/lambda/${{{name}}}");
        assert!(
            groups.iter().any(|g| g.contains(&expected)),
            "{name} has no log group named {expected}: {groups:?}"
        );
    }
}

/// Every statement of a resource's policies (SAM `Policies` and IAM policy documents).
fn statements(resource: &Value) -> Vec<Value> {
    let p = &resource["Properties"];
    let mut all = Vec::new();
    for policy in p["Policies"].as_sequence().into_iter().flatten() {
        all.extend(
            policy["Statement"]
                .as_sequence()
                .cloned()
                .unwrap_or_default(),
        );
    }
    all.extend(
        p["PolicyDocument"]["Statement"]
            .as_sequence()
            .cloned()
            .unwrap_or_default(),
    );
    all
}

fn actions(statement: &Value) -> Vec<String> {
    match &statement["Action"] {
        Value::String(a) => vec![a.clone()],
        Value::Sequence(list) => list
            .iter()
            .map(|a| a.as_str().unwrap().to_owned())
            .collect(),
        other => panic!("Action {other:?}"),
    }
}

#[test]
fn the_maintenance_switch_is_read_by_the_functions_that_send_and_written_by_the_operator_only() {
    let t = template();
    let parameter = "/${NamePrefix}/maintenance";
    // The code's default is the template's name with the default prefix.
    let default = Config::from_lookup(|_| None, &[])
        .unwrap()
        .maintenance_parameter;
    assert_eq!(
        default,
        parameter.replace(
            "${NamePrefix}",
            t["Parameters"]["NamePrefix"]["Default"].as_str().unwrap()
        )
    );
    let mut writers = Vec::new();
    for (name, resource) in t["Resources"].as_mapping().unwrap() {
        let name = name.as_str().unwrap();
        let on_switch: Vec<Value> = statements(resource)
            .into_iter()
            .filter(|s| format!("{:?}", s["Resource"]).contains(&format!("parameter{parameter}")))
            .collect();
        for s in &on_switch {
            let acts = actions(s);
            if acts.iter().any(|a| a != "ssm:GetParameter") {
                writers.push((name.to_owned(), acts));
            }
        }
        if resource["Type"] != "AWS::Serverless::Function" {
            continue;
        }
        let sends = ["SyncWorkerFunction", "DailySyncFunction", "SyncApiFunction"].contains(&name);
        let variable = &resource["Properties"]["Environment"]["Variables"]["MAINTENANCE_PARAMETER"];
        assert_eq!(
            !on_switch.is_empty(),
            sends,
            "{name}: only the functions that read the switch may read it"
        );
        if sends {
            assert_eq!(
                format!("{variable:?}"),
                format!(
                    "{:?}",
                    serde_yaml::from_str::<Value>(&format!("!Sub \"{parameter}\"")).unwrap()
                ),
                "{name} reads the switch the template names"
            );
        } else {
            assert!(variable.is_null(), "{name}");
        }
    }
    assert_eq!(
        writers,
        vec![(
            "MaintenanceOperatorPolicy".to_owned(),
            vec!["ssm:GetParameter".to_owned(), "ssm:PutParameter".to_owned()]
        )],
        "nobody but the operator's policy writes the switch"
    );
    assert_eq!(
        t["Resources"]["MaintenanceOperatorPolicy"]["Type"],
        "AWS::IAM::ManagedPolicy"
    );
}

#[path = "template/dashboard.rs"]
mod dashboard;

#[path = "template/capacity.rs"]
mod capacity;
