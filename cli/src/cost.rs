//! `synchub cost`: dollars per million webhook events (with API Gateway or a
//! Lambda Function URL in front) and per million daily-sync objects, per AWS
//! component, from the price list and the measured inputs checked in under
//! `cost/` (the model is `synchub_ops::cost`). No AWS call.
//!
//! Also the measurements the benchmark feeds the inputs with: the write
//! units DynamoDB charges for a table's rows and their index copies, and
//! the bytes and lines of a function's JSON logs.

use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use synchub_ops::cost::{self, Bill, Capacity, Front, Inputs, PriceList, Setup};

pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// The checked-in price list (us-east-1, with the date read and each source).
pub const PRICES: &str = include_str!("../../cost/prices.json");
/// The checked-in inputs (each figure with where it was measured).
pub const INPUTS: &str = include_str!("../../cost/inputs.json");

#[derive(Debug, clap::Args)]
pub struct CostArgs {
    /// The front door serving the webhook routes (template parameter
    /// WebhookFront); both are shown when omitted.
    #[arg(long, value_enum)]
    pub front: Option<FrontArg>,
    /// How the items and audit tables are billed (template parameter
    /// TableCapacity); both are shown when omitted.
    #[arg(long, value_enum)]
    pub capacity: Option<CapacityArg>,
    /// A price list to use instead of the checked-in cost/prices.json.
    #[arg(long, value_name = "FILE")]
    pub prices: Option<PathBuf>,
    /// Inputs to use instead of the checked-in cost/inputs.json.
    #[arg(long, value_name = "FILE")]
    pub inputs: Option<PathBuf>,
    /// Print the bills as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FrontArg {
    ApiGateway,
    FunctionUrl,
}

impl From<FrontArg> for Front {
    fn from(front: FrontArg) -> Self {
        match front {
            FrontArg::ApiGateway => Front::ApiGateway,
            FrontArg::FunctionUrl => Front::FunctionUrl,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CapacityArg {
    OnDemand,
    Provisioned,
}

impl From<CapacityArg> for Capacity {
    fn from(capacity: CapacityArg) -> Self {
        match capacity {
            CapacityArg::OnDemand => Capacity::OnDemand,
            CapacityArg::Provisioned => Capacity::Provisioned,
        }
    }
}

/// One webhook bill and the template choices it is for.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookBill {
    #[serde(flatten)]
    pub setup: Setup,
    pub bill: Bill,
}

/// One daily-sync bill and the capacity mode it is for.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PullBill {
    pub capacity: Capacity,
    pub bill: Bill,
}

/// What `synchub cost` answers.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CostReport {
    pub region: String,
    pub prices_read_on: String,
    pub inputs_measured_on: String,
    pub inputs_command: String,
    /// One bill per front door and capacity mode asked for.
    pub webhook_events: Vec<WebhookBill>,
    /// One bill per capacity mode asked for.
    pub daily_sync_objects: Vec<PullBill>,
}

/// Reads a document given on the command line, or the checked-in one.
fn document(path: Option<&Path>, default: &str, name: &str) -> Result<String, Error> {
    match path {
        Some(p) => {
            std::fs::read_to_string(p).map_err(|e| format!("--{name} {}: {e}", p.display()).into())
        }
        None => Ok(default.to_owned()),
    }
}

/// The price list and inputs, parsed and checked; a bad value is named with
/// its document and JSON path.
pub fn load(prices: &str, inputs: &str) -> Result<(PriceList, Inputs), Error> {
    fn named(doc: &'static str) -> impl Fn(synchub_core::domain::ValidationError) -> String {
        move |e| format!("{doc}: {e}")
    }
    let list: PriceList = cost::parse(prices).map_err(named("prices"))?;
    list.validate().map_err(named("prices"))?;
    let inputs: Inputs = cost::parse(inputs).map_err(named("inputs"))?;
    inputs.validate().map_err(named("inputs"))?;
    Ok((list, inputs))
}

pub fn report(
    list: &PriceList,
    inputs: &Inputs,
    fronts: &[Front],
    capacities: &[Capacity],
) -> CostReport {
    let setups = capacities
        .iter()
        .flat_map(|&capacity| fronts.iter().map(move |&front| Setup { front, capacity }));
    CostReport {
        region: list.region.clone(),
        prices_read_on: list.read_on.clone(),
        inputs_measured_on: inputs.measured_on.clone(),
        inputs_command: inputs.command.clone(),
        webhook_events: setups
            .map(|setup| WebhookBill {
                setup,
                bill: cost::webhook_bill(&list.prices, inputs, setup),
            })
            .collect(),
        daily_sync_objects: capacities
            .iter()
            .map(|&capacity| PullBill {
                capacity,
                bill: cost::daily_sync_bill(&list.prices, inputs, capacity),
            })
            .collect(),
    }
}

/// The command: the report as text (or JSON).
pub fn run(args: &CostArgs) -> Result<String, Error> {
    let prices = document(args.prices.as_deref(), PRICES, "prices")?;
    let inputs = document(args.inputs.as_deref(), INPUTS, "inputs")?;
    let (list, inputs) = load(&prices, &inputs)?;
    let fronts = args
        .front
        .map_or_else(|| Front::ALL.to_vec(), |f| vec![f.into()]);
    let capacities = args
        .capacity
        .map_or_else(|| Capacity::ALL.to_vec(), |c| vec![c.into()]);
    let report = report(&list, &inputs, &fronts, &capacities);
    if args.json {
        return Ok(serde_json::to_string_pretty(&report)? + "\n");
    }
    Ok(render(&report))
}

fn bill_table(title: &str, bill: &Bill) -> String {
    let mut out = format!("{title}\n");
    let width = bill
        .components
        .iter()
        .map(|c| c.service.len() + c.item.len() + 2)
        .max()
        .unwrap_or(0);
    for c in &bill.components {
        let name = format!("{}: {}", c.service, c.item);
        out += &format!(
            "  {name:<width$}  ${:>7.4}   {}\n",
            c.usd_per_million, c.basis
        );
    }
    let mut services: Vec<&str> = bill.components.iter().map(|c| c.service).collect();
    services.dedup();
    let by_service: Vec<String> = services
        .iter()
        .map(|s| format!("{s} ${:.3}", bill.service_total(s)))
        .collect();
    out += &format!(
        "  {:<width$}  ${:>7.4}   ({})\n",
        "total",
        bill.total_usd_per_million,
        by_service.join(", ")
    );
    out
}

/// The bills as a person reads them: one line per component, then the total by service.
pub fn render(report: &CostReport) -> String {
    let mut out = format!(
        "dollars per million, {} list prices read {}, inputs measured {} ({})\n\n",
        report.region, report.prices_read_on, report.inputs_measured_on, report.inputs_command
    );
    for WebhookBill { setup, bill } in &report.webhook_events {
        out += &bill_table(
            &format!(
                "per million webhook events, {} in front, {}",
                setup.front.as_str(),
                setup.capacity.as_str()
            ),
            bill,
        );
        out.push('\n');
    }
    for PullBill { capacity, bill } in &report.daily_sync_objects {
        out += &bill_table(
            &format!(
                "per million daily-sync objects (pulled, queued, applied by the worker), {}",
                capacity.as_str()
            ),
            bill,
        );
        out.push('\n');
    }
    out.pop();
    out
}

/// What DynamoDB charges to write a table's rows as they are now: write
/// units for the table and for each index, measured by putting every row
/// into a scratch copy of the table (same keys and indexes) with
/// `ReturnConsumedCapacity=INDEXES`. For the local engines only: it creates
/// and deletes a table.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WriteUnits {
    pub rows: usize,
    pub table_units: f64,
    /// Units per index, and how many rows the index took (a sparse index
    /// only takes rows with its key).
    pub index_units: BTreeMap<String, f64>,
    pub index_rows: BTreeMap<String, usize>,
    /// Rows' sizes by DynamoDB's rules (names and values, UTF-8).
    pub bytes: Vec<usize>,
    /// Each index copy's size (its keys and projected attributes).
    pub index_bytes: BTreeMap<String, Vec<usize>>,
    /// The audit table's deliveries journal items (`#deliveries#…`), apart
    /// from the rows: how many, their units, and how many rows they list.
    pub journal_items: usize,
    pub journal_units: f64,
    pub journal_listed: usize,
}

impl WriteUnits {
    pub fn per_row(&self) -> f64 {
        self.table_units / self.rows.max(1) as f64
    }

    /// Units of `index` per row it took.
    pub fn index_per_row(&self, index: &str) -> f64 {
        let rows = self.index_rows.get(index).copied().unwrap_or(0);
        self.index_units.get(index).copied().unwrap_or(0.0) / rows.max(1) as f64
    }

    /// (median, largest) row size in bytes.
    pub fn sizes(&self) -> (usize, usize) {
        median_and_largest(&self.bytes)
    }

    /// (median, largest) size of `index`'s copies in bytes.
    pub fn index_sizes(&self, index: &str) -> (usize, usize) {
        median_and_largest(self.index_bytes.get(index).map_or(&[][..], Vec::as_slice))
    }
}

fn median_and_largest(sizes: &[usize]) -> (usize, usize) {
    let mut b = sizes.to_vec();
    b.sort_unstable();
    (
        b.get(b.len() / 2).copied().unwrap_or(0),
        b.last().copied().unwrap_or(0),
    )
}

#[path = "cost_measure.rs"]
mod measure;
pub use measure::{item_bytes, log_volume, write_units, LogVolume};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_checked_in_documents_parse_and_every_value_names_its_source() {
        let (list, inputs) = load(PRICES, INPUTS).unwrap();
        assert_eq!(list.region, "us-east-1");
        let prices = serde_json::to_value(&list).unwrap();
        let inputs_json = serde_json::to_value(&inputs).unwrap();
        for doc in [&prices, &inputs_json] {
            let mut sources = 0;
            walk(doc, &mut |key, v| {
                if key == "source" {
                    sources += 1;
                    assert!(v.as_str().is_some_and(|s| s.len() > 10), "{v}");
                }
            });
            assert!(sources >= 8, "{doc}");
        }
        let report = report(&list, &inputs, &Front::ALL, &Capacity::ALL);
        let text = render(&report);
        assert!(text.contains("API Gateway: HTTP API requests"), "{text}");
        assert!(text.contains("per million daily-sync objects"), "{text}");
        let totals: Vec<f64> = report
            .webhook_events
            .iter()
            .map(|b| b.bill.total_usd_per_million)
            .collect();
        let [api, url, api_provisioned, url_provisioned] = totals[..] else {
            panic!("four bills: {totals:?}")
        };
        assert!(url < api);
        assert!(url_provisioned < url && api_provisioned < api);
        assert_eq!(
            report.webhook_events[3].setup,
            Setup {
                front: Front::FunctionUrl,
                capacity: Capacity::Provisioned
            }
        );
        let [on_demand, provisioned] = &report.daily_sync_objects[..] else {
            panic!("two pull bills")
        };
        assert!(provisioned.bill.total_usd_per_million < on_demand.bill.total_usd_per_million);
    }

    fn walk(v: &serde_json::Value, f: &mut dyn FnMut(&str, &serde_json::Value)) {
        if let Some(o) = v.as_object() {
            for (k, child) in o {
                f(k, child);
                walk(child, f);
            }
        }
    }

    #[test]
    fn a_bad_document_is_refused_naming_the_document_and_field() {
        let broken = INPUTS.replacen(
            "\"workerBatchSize\": {\n      \"value\": 25",
            "\"workerBatchSize\": {\n      \"value\": 0",
            1,
        );
        assert_ne!(broken, INPUTS, "the inputs name the batch size as expected");
        let e = load(PRICES, &broken).unwrap_err().to_string();
        assert_eq!(
            e,
            "inputs: webhook.workerBatchSize.value: must be at least 1"
        );
        let e = load("{\"region\": 1}", INPUTS).unwrap_err().to_string();
        assert!(e.starts_with("prices: region: invalid type"), "{e}");
        let args = CostArgs {
            front: Some(FrontArg::FunctionUrl),
            capacity: None,
            prices: Some("/nonexistent/prices.json".into()),
            inputs: None,
            json: false,
        };
        assert!(run(&args)
            .unwrap_err()
            .to_string()
            .starts_with("--prices /nonexistent/prices.json"));
    }

    #[test]
    fn one_front_door_prints_one_webhook_bill_and_json_carries_the_figures() {
        let args = CostArgs {
            front: Some(FrontArg::FunctionUrl),
            capacity: Some(CapacityArg::Provisioned),
            prices: None,
            inputs: None,
            json: true,
        };
        let json: serde_json::Value = serde_json::from_str(&run(&args).unwrap()).unwrap();
        let bills = json["webhookEvents"].as_array().unwrap();
        assert_eq!(bills.len(), 1);
        assert_eq!(bills[0]["front"], "function-url");
        assert_eq!(bills[0]["capacity"], "provisioned");
        assert!(bills[0]["bill"]["totalUsdPerMillion"].as_f64().unwrap() > 0.0);
        assert_eq!(json["dailySyncObjects"][0]["capacity"], "provisioned");
    }
}
