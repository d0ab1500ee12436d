//! Loading manifests: the built-ins pass, and every kind of mistake is
//! reported with the file, the line and the key to fix.

use super::*;

const GOOD: &str = "version: 1
name: demo
title: Demo
documentation:
  status: documented
  sources: [test]
  covers: everything
environments:
  production: https://demo.test
secrets: [key]
settings: [locationIds]
auth:
  type: api_key
  headers:
    X-Key: \"{{ secrets.key }}\"
streams:
  catalog:
    request:
      path: /items
    records: items
    pagination:
      type: cursor
      cursor_path: next
    mapping:
      id: id
      updated_at: updated
";

fn errors(text: &str) -> Vec<String> {
    load("connectors/demo.yaml", text)
        .unwrap_err()
        .iter()
        .map(ToString::to_string)
        .collect()
}

#[test]
fn every_built_in_manifest_loads() {
    for (name, loaded) in built_in() {
        let m = loaded.as_ref().unwrap_or_else(|e| panic!("{name}: {e:?}"));
        assert_eq!(&m.name, name);
        assert!(!m.streams.is_empty());
    }
    assert_eq!(built_in().len(), 7);
    assert!(is_connector_source("flowhub") && !is_connector_source("square"));
    assert!(connector("nope").unwrap_err().contains("unknown connector"));
}

#[test]
fn a_good_manifest_loads() {
    let m = load("connectors/demo.yaml", GOOD).unwrap();
    assert_eq!(m.data_types(), [DataType::Catalog]);
}

#[test]
fn schema_errors_name_file_line_and_key() {
    let bad = GOOD.replace(
        "      type: cursor\n      cursor_path: next",
        "      type: pages",
    );
    assert_eq!(
        errors(&bad),
        ["connectors/demo.yaml:22: streams.catalog.pagination.type: must be one of: none, cursor, page_number, offset, link_header"]
    );
    let unknown = GOOD.replace("    records: items", "    record: items");
    assert!(errors(&unknown)[0]
        .starts_with("connectors/demo.yaml:20: streams.catalog.record: is not a known key"));
    let missing = GOOD.replace("      updated_at: updated\n", "");
    assert_eq!(
        errors(&missing),
        ["connectors/demo.yaml:24: streams.catalog.mapping: `updated_at` is required"]
    );
    let stream = GOOD.replace("  catalog:", "  products:");
    assert!(errors(&stream)[0]
        .starts_with("connectors/demo.yaml:17: streams.products: is not a known key"));
}

#[test]
fn rules_beyond_the_schema_name_file_line_and_key() {
    let version = GOOD.replace("version: 1", "version: 2");
    assert_eq!(
        errors(&version),
        ["connectors/demo.yaml:1: version: must be 1"]
    );
    let name = GOOD.replace("name: demo", "name: other");
    assert_eq!(
        errors(&name),
        ["connectors/demo.yaml:2: name: must be \"demo\", the file's name"]
    );
    let secret = GOOD.replace("secrets.key", "secrets.token");
    assert_eq!(
        errors(&secret),
        ["connectors/demo.yaml:15: auth.headers.X-Key: reads secrets.token, which the manifest does not declare"]
    );
    let syntax = GOOD.replace("path: /items", "path: \"/items/{{ item \"");
    assert!(errors(&syntax)[0].starts_with(
        "connectors/demo.yaml:19: streams.catalog.request.path: is not a valid template"
    ));
    let each = GOOD.replace(
        "    records: items",
        "    for_each: settings.stores\n    records: items",
    );
    assert!(errors(&each)[0].starts_with(
        "connectors/demo.yaml:20: streams.catalog.for_each: must name a declared setting"
    ));
    let yaml = GOOD.replace("title: Demo", "title: [Demo");
    assert!(
        errors(&yaml)[0].starts_with("connectors/demo.yaml:"),
        "{:?}",
        errors(&yaml)
    );
    let no_production = GOOD.replace("production:", "sandbox:");
    assert_eq!(
        errors(&no_production),
        ["connectors/demo.yaml:8: environments: must name a `production` base URL"]
    );
}
