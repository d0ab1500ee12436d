//! The dashboard and the alarms watch metrics that exist: every `synchub`
//! metric they name is one the code emits (read from `lambda::emf`'s
//! constants and from the `counter!`/`histogram!` calls in `shared/`),
//! with the dimensions it is emitted with; every SQS and Lambda metric names
//! a queue or function of the template; the dashboard body is JSON once
//! `!Sub` has substituted it.

use super::template;
use serde_json::Value as Json;
use serde_yaml::Value;
use std::collections::{BTreeMap, BTreeSet};
use synchub_core::domain::metrics::{launch_signals, Tally};
use synchub_core::ErrorClass;
use synchub_lambda::emf::{COUNTS, FUNCTION_DIMENSION, HISTOGRAMS, NAMESPACE};

/// One metric a dashboard widget or an alarm names.
#[derive(Debug, Clone)]
struct MetricUse {
    namespace: String,
    name: String,
    dimensions: BTreeMap<String, String>,
    /// The widget or alarm, for messages.
    at: String,
}

/// The text of a `!Sub` value.
fn sub_text(v: &Value) -> &str {
    match v {
        Value::Tagged(t) if t.tag == "Sub" => t.value.as_str().expect("!Sub of a string"),
        other => panic!("expected !Sub, got {other:?}"),
    }
}

/// `!Sub`'s substitution, checking each `${…}` names a parameter, a
/// resource (or its attribute) or a pseudo parameter of the template.
/// Each becomes `«name»`, so later checks can see what was referenced.
fn substitute(t: &Value, text: &str) -> String {
    let (mut out, mut rest) = (String::new(), text);
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let end = rest[start..].find('}').expect("closed ${") + start;
        let name = &rest[start + 2..end];
        let base = name.split('.').next().unwrap();
        assert!(
            name.starts_with("AWS::")
                || t["Parameters"].get(base).is_some()
                || t["Resources"].get(base).is_some(),
            "${{{name}}} names nothing in the template"
        );
        out.push_str(&format!("«{name}»"));
        rest = &rest[end + 1..];
    }
    out + rest
}

fn dashboard_body(t: &Value) -> Json {
    let dashboards: Vec<&Value> = t["Resources"]
        .as_mapping()
        .unwrap()
        .values()
        .filter(|r| r["Type"] == "AWS::CloudWatch::Dashboard")
        .collect();
    assert_eq!(dashboards.len(), 1, "one dashboard");
    let text = substitute(t, sub_text(&dashboards[0]["Properties"]["DashboardBody"]));
    serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("the dashboard body is not JSON after !Sub ({e}):\n{text}"))
}

/// The metrics of every widget, and the ids each widget's expressions use.
fn dashboard_metrics(body: &Json) -> Vec<MetricUse> {
    let mut uses = Vec::new();
    for widget in body["widgets"].as_array().expect("widgets") {
        let Some(metrics) = widget["properties"]["metrics"].as_array() else {
            continue;
        };
        let title = widget["properties"]["title"]
            .as_str()
            .unwrap_or("?")
            .to_owned();
        let mut ids = BTreeSet::new();
        let mut expressions = Vec::new();
        for line in metrics {
            let line = line.as_array().expect("a metric line is an array");
            let options = line.iter().find(|v| v.is_object());
            if let Some(id) = options.and_then(|o| o["id"].as_str()) {
                assert!(ids.insert(id.to_owned()), "{title}: id {id} twice");
            }
            if let Some(expression) = options.and_then(|o| o["expression"].as_str()) {
                expressions.push(expression.to_owned());
                continue;
            }
            let words: Vec<&str> = line.iter().filter_map(Json::as_str).collect();
            assert!(
                words.len() >= 2 && words.len().is_multiple_of(2),
                "{title}: [namespace, name, dimension, value, …] with no shorthand: {line:?}"
            );
            uses.push(MetricUse {
                namespace: words[0].to_owned(),
                name: words[1].to_owned(),
                dimensions: words[2..]
                    .chunks(2)
                    .map(|d| (d[0].to_owned(), d[1].to_owned()))
                    .collect(),
                at: title.clone(),
            });
        }
        for expression in expressions {
            for word in expression.split(|c: char| !c.is_ascii_alphanumeric() && c != '_') {
                let is_id = word.starts_with(|c: char| c.is_ascii_lowercase());
                assert!(
                    !is_id || ids.contains(word),
                    "{title}: {expression} uses {word}, no metric of the widget"
                );
            }
        }
    }
    uses
}

/// The metrics every alarm of the template names (a single metric or math).
fn alarm_metrics(t: &Value) -> Vec<MetricUse> {
    let mut uses = Vec::new();
    let dims = |m: &Value| -> BTreeMap<String, String> {
        m["Dimensions"]
            .as_sequence()
            .map(|ds| {
                ds.iter()
                    .map(|d| {
                        let value = match &d["Value"] {
                            Value::String(s) => s.clone(),
                            other => format!("{other:?}"),
                        };
                        (d["Name"].as_str().unwrap().to_owned(), value)
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    for (name, r) in t["Resources"].as_mapping().unwrap() {
        if r["Type"] != "AWS::CloudWatch::Alarm" {
            continue;
        }
        let at = name.as_str().unwrap().to_owned();
        let p = &r["Properties"];
        let mut metrics: Vec<&Value> = vec![p];
        if let Some(math) = p["Metrics"].as_sequence() {
            metrics.extend(math.iter().map(|m| &m["MetricStat"]["Metric"]));
        }
        for m in metrics.into_iter().filter(|m| m["MetricName"].is_string()) {
            uses.push(MetricUse {
                namespace: m["Namespace"].as_str().unwrap().to_owned(),
                name: m["MetricName"].as_str().unwrap().to_owned(),
                dimensions: dims(m),
                at: at.clone(),
            });
        }
    }
    uses
}

/// Every `counter!`/`histogram!` call in `shared/`: metric name → the
/// dimension sets it is emitted with (`function` and the call's labels).
fn emitted() -> BTreeMap<String, BTreeSet<BTreeSet<String>>> {
    let mut files = vec![synchub_tests::repo_root().join("shared")];
    let mut found: BTreeMap<String, BTreeSet<BTreeSet<String>>> = BTreeMap::new();
    while let Some(path) = files.pop() {
        if path.is_dir() {
            files.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
            continue;
        }
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        for mac in ["counter!(", "histogram!("] {
            for (at, _) in text.match_indices(mac) {
                let before = text[..at].chars().next_back();
                if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                    continue; // describe_counter!
                }
                let args = call_args(&text[at + mac.len()..]);
                let Some(name) = string_literal(args.trim_start()) else {
                    continue; // a name held in a variable (describe)
                };
                let mut dims = BTreeSet::from([FUNCTION_DIMENSION.to_owned()]);
                for (i, _) in args.match_indices("=>") {
                    let key = args[..i].trim_end();
                    let open = key[..key.len() - 1].rfind('"').expect("a quoted label");
                    dims.insert(key[open + 1..key.len() - 1].to_owned());
                }
                found.entry(name).or_default().insert(dims);
            }
        }
    }
    found
}

/// A macro call's arguments: up to its closing parenthesis.
fn call_args(text: &str) -> &str {
    let mut depth = 0;
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' if depth == 0 => return &text[..i],
            ')' => depth -= 1,
            _ => {}
        }
    }
    panic!("unclosed macro call")
}

fn string_literal(text: &str) -> Option<String> {
    let rest = text.strip_prefix('"')?;
    Some(rest[..rest.find('"')?].to_owned())
}

/// The `function` dimension's values: what each function's main installs.
fn function_dimension_values() -> BTreeSet<String> {
    let dir = synchub_tests::repo_root().join("functions");
    let mut names = BTreeSet::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let main = entry.unwrap().path().join("src/main.rs");
        let text = std::fs::read_to_string(&main).unwrap();
        let at = text
            .find("init_metrics(\"")
            .expect("every function installs EMF metrics");
        names.insert(string_literal(&text[at + "init_metrics(".len()..]).unwrap());
    }
    names
}

fn resources_of(t: &Value, kind: &str) -> Vec<String> {
    t["Resources"]
        .as_mapping()
        .unwrap()
        .iter()
        .filter(|(_, r)| r["Type"] == kind)
        .map(|(n, _)| n.as_str().unwrap().to_owned())
        .collect()
}

/// The checks every metric a dashboard or an alarm names must pass.
fn check(t: &Value, uses: &[MetricUse]) {
    let emitted = emitted();
    let functions = function_dimension_values();
    let classes: Vec<&str> = ErrorClass::ALL.iter().map(|c| c.as_str()).collect();
    let queues = resources_of(t, "AWS::SQS::Queue");
    let lambdas = resources_of(t, "AWS::Serverless::Function");
    for u in uses {
        let keys: BTreeSet<String> = u.dimensions.keys().cloned().collect();
        match u.namespace.as_str() {
            NAMESPACE => {
                assert!(
                    COUNTS.contains(&u.name.as_str()) || HISTOGRAMS.contains(&u.name.as_str()),
                    "{}: {} is not one of emf's metrics",
                    u.at,
                    u.name
                );
                let sets = emitted
                    .get(&u.name)
                    .unwrap_or_else(|| panic!("{}: no counter!/histogram! emits {}", u.at, u.name));
                assert!(
                    sets.contains(&keys),
                    "{}: {} is emitted with dimensions {sets:?}, not {keys:?}",
                    u.at,
                    u.name
                );
                assert!(
                    functions.contains(&u.dimensions[FUNCTION_DIMENSION]),
                    "{}: no function is named {:?} (those are {functions:?})",
                    u.at,
                    u.dimensions[FUNCTION_DIMENSION]
                );
                if let Some(class) = u.dimensions.get("class") {
                    assert!(classes.contains(&class.as_str()), "{}: class {class}", u.at);
                }
            }
            "AWS/SQS" => {
                assert!(
                    [
                        "ApproximateAgeOfOldestMessage",
                        "ApproximateNumberOfMessagesVisible",
                        "NumberOfMessagesDeleted"
                    ]
                    .contains(&u.name.as_str()),
                    "{}: {}",
                    u.at,
                    u.name
                );
                let queue = &u.dimensions["QueueName"];
                assert!(
                    queues.iter().any(|q| {
                        queue == &format!("«{q}.QueueName»") || queue.contains(q.as_str())
                    }),
                    "{}: QueueName {queue} is no queue of the template",
                    u.at
                );
            }
            "AWS/Lambda" => {
                assert!(
                    ["Errors", "Invocations", "Throttles"].contains(&u.name.as_str()),
                    "{}: {}",
                    u.at,
                    u.name
                );
                let function = &u.dimensions["FunctionName"];
                assert!(
                    lambdas
                        .iter()
                        .any(|f| function == &format!("«{f}»") || function.contains(f.as_str())),
                    "{}: FunctionName {function} is no function of the template",
                    u.at
                );
            }
            other => panic!("{}: namespace {other}", u.at),
        }
    }
}

#[test]
fn every_metric_the_emf_constants_name_is_emitted_by_the_code() {
    let emitted = emitted();
    for name in COUNTS.iter().chain(HISTOGRAMS) {
        assert!(
            emitted.contains_key(*name),
            "{name} is described but never emitted"
        );
    }
    for name in emitted.keys() {
        assert!(
            COUNTS.contains(&name.as_str()) || HISTOGRAMS.contains(&name.as_str()),
            "{name} is emitted but not in lambda::emf's COUNTS or HISTOGRAMS"
        );
    }
}

#[test]
fn the_dashboard_is_json_after_substitution_and_every_metric_it_shows_is_emitted() {
    let t = template();
    let body = dashboard_body(&t);
    let uses = dashboard_metrics(&body);
    check(&t, &uses);
    let shows = |namespace: &str, name: &str| -> Vec<&MetricUse> {
        uses.iter()
            .filter(|u| u.namespace == namespace && u.name == name)
            .collect()
    };
    // What the issue asks it to show.
    assert!(!shows("AWS/SQS", "ApproximateAgeOfOldestMessage").is_empty());
    assert!(!shows(NAMESPACE, "QueueLagMaxMs").is_empty(), "queue lag");
    let dlqs = shows("AWS/SQS", "ApproximateNumberOfMessagesVisible");
    for q in resources_of(&t, "AWS::SQS::Queue")
        .into_iter()
        .filter(|q| q.ends_with("DLQ"))
    {
        assert!(
            dlqs.iter()
                .any(|u| u.dimensions["QueueName"] == format!("«{q}.QueueName»")),
            "the depth of {q}"
        );
    }
    for outcome in [
        "EventsApplied",
        "EventsStale",
        "EventsDuplicate",
        "EventsRejected",
        "PublishFailed",
        "RunDurationMs",
    ] {
        assert!(!shows(NAMESPACE, outcome).is_empty(), "{outcome}");
    }
    // Accepted webhooks write no line or EMF document: the dashboard counts
    // them as ingest's invocations less its refusals and errors.
    assert!(shows("AWS/Lambda", "Invocations")
        .iter()
        .any(|u| u.dimensions["FunctionName"] == "«WebhookIngestFunction»"));
    assert!(!shows(NAMESPACE, "WebhooksRefused").is_empty());
    let errors = shows("AWS/Lambda", "Errors");
    for f in resources_of(&t, "AWS::Serverless::Function") {
        assert!(
            errors
                .iter()
                .any(|u| u.dimensions["FunctionName"] == format!("«{f}»")),
            "errors of {f}"
        );
    }
    assert!(body["widgets"]
        .as_array()
        .unwrap()
        .iter()
        .all(
            |w| w["properties"]["region"].is_null() || w["properties"]["region"] == "«AWS::Region»"
        ));
}

#[test]
fn every_alarm_watches_an_emitted_metric_and_the_gate_alarms_use_the_gates_thresholds() {
    let t = template();
    check(&t, &alarm_metrics(&t));
    let thresholds: BTreeMap<&str, f64> = launch_signals(&Tally::default())
        .into_iter()
        .map(|s| (s.name, s.threshold))
        .collect();
    let r = &t["Resources"];
    for (alarm, signal) in [
        ("StaleItemsAlarm", "staleItemsPercent"),
        ("StorefrontPublishErrorRateAlarm", "publishErrorRatePercent"),
    ] {
        let p = &r[alarm]["Properties"];
        assert_eq!(r[alarm]["Type"], "AWS::CloudWatch::Alarm", "{alarm}");
        assert_eq!(p["Threshold"].as_f64(), Some(thresholds[signal]), "{alarm}");
        assert_eq!(p["ComparisonOperator"], "GreaterThanThreshold", "{alarm}");
        assert_eq!(
            p["AlarmActions"], r["SyncDLQDepthAlarm"]["Properties"]["AlarmActions"],
            "{alarm} notifies like the others"
        );
        let returned: Vec<&Value> = p["Metrics"]
            .as_sequence()
            .unwrap()
            .iter()
            .filter(|m| m["ReturnData"] == true)
            .collect();
        assert_eq!(returned.len(), 1, "{alarm}: one expression decides");
    }
}
