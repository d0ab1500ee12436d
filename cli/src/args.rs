//! The command line. Every closed set (kinds, data types, error classes,
//! targets) is a `ValueEnum` and every id is parsed into its validated type,
//! so a typo is refused with the list of valid values before any AWS call.

pub use crate::arg_values::{DataType, ErrorClass, Kind, Target};
use clap::{Args, Parser, Subcommand};
use synchub_core::domain::{EntityKey, Sku, TenantId, ValidationError};
use synchub_ops::{DEFAULT_RUNS_LIMIT, MAX_RUNS_LIMIT};

#[derive(Debug, Parser)]
#[command(
    name = "synchub",
    version,
    about = "Operate synchub: observe the sync, act on a tenant's data, steer tenants and connectors",
    after_help = "`synchub help <command>` says more about each command."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the demo on the local stack.
    ///
    /// Provision the stack on the configured endpoints and run the demo.
    #[cfg(feature = "demo")]
    Demo(DemoArgs),
    /// Serve the operator dashboard on 127.0.0.1.
    ///
    /// Serve the operator dashboard on 127.0.0.1: with --api-url, its API calls
    /// go to the deployed sync API signed with your AWS credentials (SigV4,
    /// like `kubectl proxy`); without, to the sync API's code in this process
    /// on the stack the AWS_* variables name (the local stack).
    Dashboard(DashboardArgs),
    /// Re-drive a tenant's deliveries and dead letters of a window.
    ///
    /// Re-drive what a tenant's sync received in a window, and the window's
    /// dead letters, through the worker: items whose store is behind, failed
    /// storefront publishes and target calls (with --republish, every item
    /// touched). A dry run unless --apply. Exit status 1 if a send failed.
    Replay(ReplayArgs),
    /// Dollars per million events, per AWS component.
    ///
    /// Dollars per million webhook events and daily-sync objects, per AWS
    /// component, from the checked-in prices and measured inputs (cost/).
    Cost(crate::cost::CostArgs),
    /// Pull a tenant's data from its POS now.
    ///
    /// Starts runs as the daily schedule does, from the POS the tenant's
    /// settings name (Square or a connector), shows their progress, then a
    /// table of runs.
    Sync(SyncArgs),
    /// Send a target the customers it skipped or failed.
    ///
    /// Send to a target the customers whose status there is skipped or failed
    /// (after switching it on, or after an outage).
    Backfill {
        #[command(flatten)]
        tenant: TenantArg,
        /// The target to send to; its ENABLE_*_SYNC flag must be on.
        #[arg(long, value_enum)]
        target: Target,
        /// Only customers whose last status was recorded at or after this time (RFC 3339).
        #[arg(long, value_parser = parse_since)]
        since: Option<String>,
        /// List who would be sent; send nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Every delivery about one entity, and why the stored one won.
    ///
    /// Every delivery about one entity, and why the stored one won.
    Trace {
        #[command(flatten)]
        tenant: TenantArg,
        #[command(flatten)]
        entity: EntityArgs,
        #[command(flatten)]
        output: Output,
    },
    /// Hold back, or send again, all outbound sync.
    ///
    /// The maintenance switch: `on` holds back all outbound sync (POS, CRM,
    /// storefront, the schedule's runs) while webhooks are still applied; `off`
    /// sends it again; `status` shows it (exit status 1 while on).
    Maintenance {
        #[arg(value_enum)]
        action: crate::maintenance::MaintenanceAction,
        #[command(flatten)]
        output: Output,
    },
    /// Move the items table to another shard count.
    ///
    /// Moves the items table from one shard count to another (`ItemShards`):
    /// each item is put at its new key, then its old key removed. Run it while
    /// nothing writes the table (docs/deploy.md, "Items table layout"); safe to stop
    /// and run again.
    Reshard {
        /// The shard count the items were written with.
        #[arg(long, value_parser = crate::reshard::parse_shards)]
        from: u16,
        /// The shard count to deploy with next.
        #[arg(long, value_parser = crate::reshard::parse_shards)]
        to: u16,
        /// Count what would move; change nothing.
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        output: Output,
    },
    /// Is the sync healthy (exit status 0, 1 or 2).
    ///
    /// Is the sync healthy: the sync queue's backlog, dead letters, failed and
    /// stuck runs, each against its threshold. Exit status 0 healthy, 1
    /// degraded, 2 unhealthy (or health could not be read).
    Health {
        #[command(flatten)]
        output: Output,
    },
    /// The launch gate over a window.
    ///
    /// The launch gate over a window: stale items, queue lag, publish error
    /// rate and trace coverage against their thresholds, for all tenants and
    /// each. Exit status 1 when any signal misses.
    Gate {
        /// RFC 3339 start of the window (24 hours ago by default).
        #[arg(long)]
        since: Option<String>,
        /// RFC 3339 end of the window (now by default).
        #[arg(long)]
        until: Option<String>,
        #[command(flatten)]
        output: Output,
    },
    /// The sync's metrics over a window.
    ///
    /// The sync's metrics over a window, for every active tenant or one: runs
    /// per data type (success rate, durations p50/p95, objects, error classes),
    /// deliveries by outcome, each target's results, stale items, publish error
    /// rate and trace coverage.
    Metrics {
        /// RFC 3339 start of the window (24 hours ago by default).
        #[arg(long)]
        since: Option<String>,
        /// RFC 3339 end of the window (now by default).
        #[arg(long)]
        until: Option<String>,
        /// Only this tenant (every active tenant by default).
        #[arg(long, value_parser = TenantId::parse)]
        tenant: Option<TenantId>,
        #[command(flatten)]
        output: Output,
    },
    /// Bring a tenant's data up to date now, and wait.
    ///
    /// Bring a tenant's data up to date now by its sync method (queued through
    /// the runs queue, or direct inline), waiting up to --timeout; on a timeout
    /// or retryable error the other method is tried once. Exit status 1 when a
    /// data type is not fresh.
    Ensure(Box<crate::ensure::EnsureArgs>),
    /// How each sync method did for `ensure`.
    ///
    /// How each sync method did for `ensure` over a window: calls, success
    /// rate, fallbacks, p50/p95 duration.
    MethodStats(crate::ensure::MethodStatsArgs),
    /// A tenant's last run per data type, flags and method.
    ///
    /// A tenant's last run per data type, failed collections, flags in effect
    /// and sync method. Exit status 1 when a collection's last run failed.
    Status {
        #[command(flatten)]
        tenant: TenantArg,
        #[command(flatten)]
        output: Output,
    },
    /// The flags in effect for a tenant, and where each comes from.
    ///
    /// The flags in effect for a tenant, and where each value comes from
    /// (deploy, canary from CANARY_TENANTS, or the tenant's override).
    Flags {
        #[command(flatten)]
        tenant: TenantArg,
        #[command(flatten)]
        output: Output,
    },
    /// Check a POS manifest, or pull a tenant's first page.
    ///
    /// POS connector manifests: check one offline, pull a tenant's first page
    /// (dry run).
    Connector {
        #[command(subcommand)]
        command: crate::connector::ConnectorCommand,
    },
    /// What full pulls found that webhooks missed.
    ///
    /// Per id, what a tenant's newest full pulls found that webhooks never
    /// delivered (missed), delivered otherwise (changed: which fields), or the
    /// source no longer has (gone).
    Drift(crate::drift::DriftArgs),
    /// Onboard and steer tenants.
    ///
    /// Onboard and steer tenants: add, show, set, list, rotate-secret.
    Tenant {
        #[command(subcommand)]
        command: crate::tenant::TenantCommand,
    },
    /// A tenant's sync runs, newest first.
    ///
    /// A tenant's sync runs, newest first.
    Runs {
        #[command(flatten)]
        tenant: TenantArg,
        /// How many runs to show (as the sync API's `limit`).
        #[arg(long, default_value_t = DEFAULT_RUNS_LIMIT, value_parser = runs_limit())]
        limit: usize,
        #[command(flatten)]
        output: Output,
    },
}

// `synchub replay`'s arguments (the command's doc is on its variant).
#[derive(Debug, Args)]
pub struct ReplayArgs {
    #[command(flatten)]
    pub tenant: TenantArg,
    /// Start of the window (RFC 3339); 24 hours ago when omitted.
    #[arg(long, value_parser = parse_since)]
    pub since: Option<String>,
    /// End of the window (RFC 3339); now when omitted.
    #[arg(long, value_parser = parse_since)]
    pub until: Option<String>,
    /// Only deliveries about this kind (repeatable); every kind when omitted.
    #[arg(long = "kind", value_enum)]
    pub kinds: Vec<Kind>,
    /// Only the window's dead letters of this class (any letter case).
    #[arg(long, value_enum, ignore_case = true)]
    pub error_class: Option<ErrorClass>,
    /// Also send every touched item's stored change to its targets again.
    #[arg(long)]
    pub republish: bool,
    /// Send the items (without it, only show what would be sent).
    #[arg(long)]
    pub apply: bool,
    #[command(flatten)]
    pub output: Output,
}

// `synchub sync`'s arguments (the command's doc is on its variant).
#[derive(Debug, Args)]
pub struct SyncArgs {
    #[command(flatten)]
    pub tenant: TenantArg,
    /// One data type; all of them when omitted.
    #[arg(long, value_enum)]
    pub data_type: Option<DataType>,
    /// Pull and compare with what is stored; write and enqueue nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Start even if today's run already succeeded (never two at once).
    #[arg(long)]
    pub force: bool,
}

/// How an answer is printed.
#[derive(Debug, Args)]
pub struct Output {
    /// Print the answer as JSON, as the sync API answers it.
    #[arg(long)]
    pub json: bool,
}

#[cfg(feature = "demo")]
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// The resources' name prefix (template.yaml's NamePrefix).
    #[arg(long, default_value = "synchub")]
    pub prefix: String,
    /// The demo tenant (not SYNCHUB_TENANT: the demo seeds its own).
    #[arg(long, default_value = "demo-shop")]
    pub tenant: String,
    /// How many SKUs the supplier sends versions of.
    #[arg(long, default_value_t = 40)]
    pub skus: usize,
    /// Where the functions' JSON logs go.
    #[arg(long, default_value = ".local/logs/demo-functions.jsonl")]
    pub log_file: std::path::PathBuf,
    /// End when the demo is done instead of serving the dashboard on its
    /// data until Ctrl-C (for scripts and tests).
    #[arg(long)]
    pub no_dashboard: bool,
    /// The port the demo's dashboard listens on (127.0.0.1; 0 for any free one).
    #[arg(long, default_value_t = DEFAULT_DASHBOARD_PORT)]
    pub dashboard_port: u16,
}

/// The dashboard's port unless told otherwise.
pub const DEFAULT_DASHBOARD_PORT: u16 = 8787;

#[derive(Debug, Args)]
pub struct DashboardArgs {
    /// The port to listen on, on 127.0.0.1 only (0 for any free one).
    #[arg(long, default_value_t = DEFAULT_DASHBOARD_PORT)]
    pub port: u16,
    /// The deployed sync API (the stack's ApiBaseUrl output, with or without
    /// /api); calls are signed with the default AWS credential chain.
    #[arg(long, value_name = "URL")]
    pub api_url: Option<String>,
    /// Without --api-url, on the local stack only: also consume the runs and
    /// sync queues as Lambda would, so runs started from the page finish.
    #[arg(long, conflicts_with = "api_url")]
    pub local_workers: bool,
}

#[derive(Debug, Args)]
pub struct TenantArg {
    /// The tenant (merchant) id.
    #[arg(long, env = "SYNCHUB_TENANT", value_parser = TenantId::parse)]
    pub tenant: TenantId,
}

/// Which entity: `--kind K --id I`, or `--sku S` for a catalog item.
#[derive(Debug, Args)]
pub struct EntityArgs {
    /// What kind of entity.
    #[arg(long, value_enum, requires = "id", required_unless_present = "sku")]
    pub kind: Option<Kind>,
    /// The entity's id as synchub keeps it (a SKU, a POS id, `shopify-{id}`).
    #[arg(long, requires = "kind")]
    pub id: Option<String>,
    /// Short for `--kind catalog_item --id SKU`.
    #[arg(long, conflicts_with_all = ["kind", "id"], value_parser = Sku::parse)]
    pub sku: Option<Sku>,
}

impl EntityArgs {
    /// The entity, its id checked as its kind requires.
    pub fn key(&self, tenant: TenantId) -> Result<EntityKey, ValidationError> {
        match (&self.sku, self.kind, &self.id) {
            (Some(sku), _, _) => synchub_ops::trace::entity_key(
                tenant,
                synchub_core::domain::EntityKind::CatalogItem,
                sku.as_str(),
            ),
            (None, Some(kind), Some(id)) => synchub_ops::trace::entity_key(tenant, kind.into(), id),
            // clap requires one of the two forms; say so if that ever changes.
            _ => Err(ValidationError::new(
                "kind",
                "--kind and --id, or --sku, are required",
            )),
        }
    }
}

/// `--limit` of `runs`: from 1 to the most the sync API answers in one page.
fn runs_limit() -> clap::builder::RangedU64ValueParser<usize> {
    clap::builder::RangedU64ValueParser::new().range(1..=MAX_RUNS_LIMIT as u64)
}

/// `--since`: an RFC 3339 time, checked as the ledger will read it.
fn parse_since(text: &str) -> Result<String, String> {
    synchub_core::domain::time::parse_rfc3339_millis(text)
        .map(|_| text.to_owned())
        .map_err(|rule| rule.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;
    use clap::ValueEnum;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("synchub").chain(args.iter().copied()))
    }

    fn name<V: ValueEnum>(value: V) -> String {
        value.to_possible_value().unwrap().get_name().to_owned()
    }

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }

    /// Shared's kind back to the command line's: this match stops compiling
    /// when shared gains a kind that `--kind` does not offer.
    fn offered(kind: synchub_core::domain::EntityKind) -> Kind {
        use synchub_core::domain::EntityKind as K;
        match kind {
            K::CatalogItem => Kind::CatalogItem,
            K::Item => Kind::Item,
            K::Category => Kind::Category,
            K::Location => Kind::Location,
            K::Order => Kind::Order,
            K::Inventory => Kind::Inventory,
            K::Customer => Kind::Customer,
        }
    }

    #[test]
    fn closed_sets_offer_every_value_under_shareds_names() {
        for &kind in Kind::value_variants() {
            let shared = synchub_core::domain::EntityKind::from(kind);
            assert_eq!(name(kind), shared.as_str());
            assert_eq!(offered(shared), kind);
        }
        let data_types: Vec<synchub_core::domain::DataType> = DataType::value_variants()
            .iter()
            .map(|&d| d.into())
            .collect();
        assert_eq!(data_types, synchub_core::domain::DataType::ALL);
        for (&d, shared) in DataType::value_variants().iter().zip(data_types) {
            assert_eq!(name(d), shared.as_str());
        }
        let classes: Vec<synchub_core::ErrorClass> = ErrorClass::value_variants()
            .iter()
            .map(|&c| c.into())
            .collect();
        assert_eq!(classes, synchub_core::ErrorClass::ALL);
        for (&c, shared) in ErrorClass::value_variants().iter().zip(classes) {
            assert_eq!(name(c), shared.as_str());
        }
        for &t in Target::value_variants() {
            assert_eq!(name(t), t.as_str());
        }
    }

    #[test]
    fn trace_takes_a_kind_and_id_or_a_sku() {
        let Command::Trace { tenant, entity, .. } = parse(&[
            "trace",
            "--tenant",
            "acme",
            "--kind",
            "customer",
            "--id",
            "shopify-7",
        ])
        .unwrap()
        .command
        else {
            panic!("trace")
        };
        let key = entity.key(tenant.tenant).unwrap();
        assert_eq!(key.audit_partition(), "acme#customer#shopify-7");

        let Command::Trace { tenant, entity, .. } =
            parse(&["trace", "--tenant", "acme", "--sku", "SKU-1"])
                .unwrap()
                .command
        else {
            panic!("trace")
        };
        assert_eq!(
            entity.key(tenant.tenant).unwrap().audit_partition(),
            "acme#catalog_item#SKU-1"
        );
    }

    #[test]
    fn trace_refuses_half_or_both_forms() {
        for args in [
            &["trace", "--tenant", "acme"][..],
            &["trace", "--tenant", "acme", "--kind", "order"],
            &["trace", "--tenant", "acme", "--id", "1"],
            &[
                "trace", "--tenant", "acme", "--sku", "S", "--kind", "order", "--id", "1",
            ],
            &["trace", "--tenant", "acme", "--kind", "widget", "--id", "1"],
            &["trace", "--tenant", "acme", "--sku", "not a sku"],
        ] {
            assert!(parse(args).is_err(), "{args:?}");
        }
    }

    #[test]
    fn closed_sets_are_refused_with_the_valid_values() {
        let err = parse(&["backfill", "--tenant", "acme", "--target", "erp"]).unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::InvalidValue);
        assert!(err.to_string().contains("pos, crm"), "{err}");
        let err = parse(&["sync", "--tenant", "acme", "--data-type", "widgets"]).unwrap_err();
        assert!(err.to_string().contains("orders, catalog"), "{err}");
        let err = parse(&["replay", "--tenant", "acme", "--error-class", "OOPS"]).unwrap_err();
        assert!(err.to_string().contains("AUTH_ERROR"), "{err}");
        assert!(parse(&[
            "replay",
            "--tenant",
            "acme",
            "--error-class",
            "network_error"
        ])
        .is_ok());
        assert!(parse(&[
            "backfill",
            "--tenant",
            "acme",
            "--target",
            "crm",
            "--since",
            "yesterday"
        ])
        .is_err());
        assert!(parse(&["trace", "--tenant", "acme#other", "--sku", "S"]).is_err());
    }

    #[test]
    fn the_operations_commands_take_json_and_a_limit() {
        let Command::Runs { limit, output, .. } =
            parse(&["runs", "--tenant", "acme"]).unwrap().command
        else {
            panic!("runs")
        };
        assert_eq!((limit, output.json), (20, false));
        let Command::Runs { limit, output, .. } =
            parse(&["runs", "--tenant", "acme", "--limit", "5", "--json"])
                .unwrap()
                .command
        else {
            panic!("runs")
        };
        assert_eq!((limit, output.json), (5, true));
        assert!(parse(&["runs", "--tenant", "acme", "--limit", "0"]).is_err());
        assert!(parse(&["runs", "--tenant", "acme", "--limit", "101"]).is_err());
        let Command::Health { output } = parse(&["health", "--json"]).unwrap().command else {
            panic!("health")
        };
        assert!(output.json);
        for command in ["status", "flags"] {
            assert!(parse(&[command, "--tenant", "acme", "--json"]).is_ok());
            assert!(parse(&[command, "--tenant", "acme#b"]).is_err());
        }
        assert!(parse(&["trace", "--tenant", "acme", "--sku", "S", "--json"]).is_ok());
    }

    #[test]
    fn the_tenant_may_come_from_the_environment() {
        // The only test that sets the variable; clap reads it at parse time.
        std::env::set_var("SYNCHUB_TENANT", "from-env");
        let parsed = parse(&["sync", "--dry-run"]);
        std::env::remove_var("SYNCHUB_TENANT");
        let Command::Sync(args) = parsed.unwrap().command else {
            panic!("sync")
        };
        assert_eq!(args.tenant.tenant.as_str(), "from-env");
    }
}
