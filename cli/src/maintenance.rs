//! `synchub maintenance on|off|status`: the operator's switch for all
//! outbound sync, an SSM parameter (`MAINTENANCE_PARAMETER`, by default
//! `/synchub/maintenance`) the functions read, so flipping it needs no
//! deploy. While on, the POS, the CRM, the storefront publish and the
//! schedule's runs are held back (each skipped call recorded `skipped
//! (maintenance)`); webhooks are still accepted, queued and applied.

use crate::ops::{answer, word};
use synchub_aws::maintenance::{MaintenanceReading, SsmMaintenanceSwitch, CACHE_TTL};
use synchub_core::ports::maintenance::Maintenance;
use synchub_core::ports::PortError;
use synchub_lambda::config::Config;

pub type Error = Box<dyn std::error::Error + Send + Sync>;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum MaintenanceAction {
    /// Hold back all outbound sync.
    On,
    /// Send it again.
    Off,
    /// Show the switch (exit status 1 while on).
    Status,
}

/// Sets (or only reads) the switch and says where it stands.
pub async fn act(
    switch: &SsmMaintenanceSwitch,
    action: MaintenanceAction,
) -> Result<MaintenanceReading, PortError> {
    match action {
        MaintenanceAction::On => switch.set(Maintenance::On).await,
        MaintenanceAction::Off => switch.set(Maintenance::Off).await,
        MaintenanceAction::Status => switch.read().await,
    }
}

/// 1 while maintenance is on and the operator only asked: a script can wait on it.
pub fn exit_status(action: MaintenanceAction, reading: &MaintenanceReading) -> u8 {
    u8::from(action == MaintenanceAction::Status && reading.maintenance.is_on())
}

/// The switch, since when, and what it means for the operator now.
pub fn render(reading: &MaintenanceReading) -> String {
    let since = reading
        .changed_at
        .as_deref()
        .map(|at| format!(" (since {at})"))
        .unwrap_or_default();
    let mut out = format!(
        "maintenance  {}{since}\n  parameter  {}\n",
        word(&reading.maintenance),
        reading.parameter
    );
    let seconds = CACHE_TTL.as_secs();
    out += &match reading.maintenance {
        Maintenance::On => format!(
            "  held back: POS, CRM, storefront publish and the schedule's runs (each skip recorded as skipped (maintenance));\n\
             \x20 webhooks are still accepted, queued and applied. Every function sees it within {seconds} s.\n"
        ),
        Maintenance::Off => format!(
            "  outbound sync runs as usual (every function sees it within {seconds} s).\n\
             \x20 customers held back meanwhile: synchub backfill --tenant <id> --target pos|crm\n"
        ),
    };
    out
}

/// The command: the switch `MAINTENANCE_PARAMETER` names, on the
/// endpoints the standard `AWS_*` variables name.
pub async fn command(action: MaintenanceAction, json: bool) -> Result<u8, Error> {
    let config = Config::from_env(&[])?;
    let aws = synchub_lambda::aws_config().await;
    let switch = synchub_lambda::maintenance_switch(&aws, &config);
    let reading = act(&switch, action).await?;
    print!("{}", answer(&reading, json, render)?);
    Ok(exit_status(action, &reading))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::args::{Cli, Command};
    use clap::Parser;

    fn reading(maintenance: Maintenance) -> MaintenanceReading {
        MaintenanceReading {
            maintenance,
            parameter: "/synchub/maintenance".into(),
            changed_at: Some("2026-12-02T02:00:00.000Z".into()),
        }
    }

    #[test]
    fn the_command_takes_on_off_or_status_and_json() {
        let parse = |args: &[&str]| Cli::try_parse_from([&["synchub"], args].concat());
        let Command::Maintenance { action, output } =
            parse(&["maintenance", "on"]).unwrap().command
        else {
            panic!("maintenance")
        };
        assert_eq!((action, output.json), (MaintenanceAction::On, false));
        let Command::Maintenance { action, output } =
            parse(&["maintenance", "status", "--json"]).unwrap().command
        else {
            panic!("maintenance")
        };
        assert_eq!((action, output.json), (MaintenanceAction::Status, true));
        let err = parse(&["maintenance", "maybe"]).unwrap_err().to_string();
        assert!(
            err.contains("on") && err.contains("off") && err.contains("status"),
            "{err}"
        );
        assert!(parse(&["maintenance"]).is_err());
    }

    #[test]
    fn status_exits_1_only_while_on() {
        let (on, off) = (reading(Maintenance::On), reading(Maintenance::Off));
        assert_eq!(exit_status(MaintenanceAction::Status, &on), 1);
        assert_eq!(exit_status(MaintenanceAction::Status, &off), 0);
        assert_eq!(exit_status(MaintenanceAction::On, &on), 0, "as asked");
    }

    #[test]
    fn the_answer_says_what_is_held_back_and_how_to_catch_up() {
        let text = render(&reading(Maintenance::On));
        assert!(
            text.starts_with("maintenance  on (since 2026-12-02T02:00:00.000Z)\n  parameter  /synchub/maintenance\n"),
            "{text}"
        );
        assert!(text.contains("skipped (maintenance)"), "{text}");
        assert!(text.contains("within 30 s"), "{text}");
        let text = render(&reading(Maintenance::Off));
        assert!(text.contains("synchub backfill"), "{text}");
        let json = answer(&reading(Maintenance::On), true, render).unwrap();
        let value: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(value["maintenance"], "on");
        assert_eq!(value["parameter"], "/synchub/maintenance");
    }
}
