//! `TableCapacity`: the items and audit tables are on demand by default and
//! provisioned with target-tracking auto scaling when asked, and the cost
//! model prices provisioned capacity at the utilization the template's
//! scaling keeps.

use super::template;
use serde_yaml::Value;

/// The tables whose billing mode the parameter chooses.
pub const CHOOSES: [&str; 2] = ["ItemsTable", "AuditTable"];

fn tagged<'a>(v: &'a Value, tag: &str) -> &'a Value {
    match v {
        Value::Tagged(t) if t.tag == tag => &t.value,
        other => panic!("expected !{tag}, got {other:?}"),
    }
}

fn reference(v: &Value) -> &str {
    tagged(v, "Ref").as_str().expect("!Ref of a name")
}

#[test]
fn the_items_and_audit_tables_are_on_demand_unless_provisioned_capacity_is_chosen() {
    let t = template();
    let p = &t["Parameters"]["TableCapacity"];
    assert_eq!(p["Default"], "OnDemand");
    assert_eq!(
        t["Conditions"]["ProvisionedTables"],
        serde_yaml::from_str::<Value>("!Equals [!Ref TableCapacity, Provisioned]").unwrap()
    );
    for table in CHOOSES {
        let props = &t["Resources"][table]["Properties"];
        let mode = tagged(&props["BillingMode"], "If");
        assert_eq!(mode[0], "ProvisionedTables", "{table}");
        assert_eq!(mode[1], "PROVISIONED", "{table}");
        assert_eq!(mode[2], "PAY_PER_REQUEST", "{table}");
        let throughput = tagged(&props["ProvisionedThroughput"], "If");
        assert_eq!(
            reference(&throughput[1]["WriteCapacityUnits"]),
            "ProvisionedWriteUnitsMin"
        );
        assert_eq!(reference(&throughput[2]), "AWS::NoValue", "{table}");
        // A provisioned table's indexes need throughput of their own.
        for index in props["GlobalSecondaryIndexes"]
            .as_sequence()
            .into_iter()
            .flatten()
        {
            let throughput = tagged(&index["ProvisionedThroughput"], "If");
            assert_eq!(throughput[0], "ProvisionedTables", "{table}");
        }
    }
}

#[test]
fn each_provisioned_table_scales_its_writes_and_reads_to_the_target_the_cost_model_assumes() {
    let t = template();
    let r = t["Resources"].as_mapping().unwrap();
    for table in CHOOSES {
        for (dimension, metric) in [
            ("WriteCapacityUnits", "DynamoDBWriteCapacityUtilization"),
            ("ReadCapacityUnits", "DynamoDBReadCapacityUtilization"),
        ] {
            let (name, target) = r
                .iter()
                .find(|(_, v)| {
                    v["Type"] == "AWS::ApplicationAutoScaling::ScalableTarget"
                        && v["Properties"]["ScalableDimension"]
                            == format!("dynamodb:table:{dimension}").as_str()
                        && format!("{:?}", v["Properties"]["ResourceId"]).contains(table)
                })
                .unwrap_or_else(|| panic!("{table}: no scalable target for {dimension}"));
            assert_eq!(target["Condition"], "ProvisionedTables", "{name:?}");
            let name = name.as_str().unwrap();
            let policy = r
                .values()
                .find(|v| {
                    v["Type"] == "AWS::ApplicationAutoScaling::ScalingPolicy"
                        && reference(&v["Properties"]["ScalingTargetId"]) == name
                })
                .unwrap_or_else(|| panic!("{name}: no scaling policy"));
            assert_eq!(policy["Condition"], "ProvisionedTables");
            let tracking = &policy["Properties"]["TargetTrackingScalingPolicyConfiguration"];
            assert_eq!(
                tracking["PredefinedMetricSpecification"]["PredefinedMetricType"],
                metric
            );
            assert_eq!(
                reference(&tracking["TargetValue"]),
                "ProvisionedTargetUtilization"
            );
        }
    }
    let target = t["Parameters"]["ProvisionedTargetUtilization"]["Default"]
        .as_f64()
        .unwrap();
    let (_, inputs) =
        synchub_cli::cost::load(synchub_cli::cost::PRICES, synchub_cli::cost::INPUTS).unwrap();
    assert_eq!(
        inputs.dynamodb.provisioned_utilization.value * 100.0,
        target,
        "cost/inputs.json prices provisioned capacity at the template's target"
    );
}
