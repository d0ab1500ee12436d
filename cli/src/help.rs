//! `synchub --help`: the commands in groups, one short line each (the first
//! line of each command's doc); `synchub help <command>` has the rest.

use crate::args::Cli;
use clap::CommandFactory;

/// The groups `--help` lists, in order, with their commands.
pub const GROUPS: [(&str, &[&str]); 5] = [
    (
        "Observe",
        &[
            "health",
            "status",
            "flags",
            "runs",
            "trace",
            "metrics",
            "gate",
            "method-stats",
            "drift",
            "dashboard",
        ],
    ),
    (
        "Act",
        &["sync", "ensure", "replay", "backfill", "maintenance"],
    ),
    ("Tenants", &["tenant"]),
    ("Connectors", &["connector"]),
    ("Tools", &["cost", "reshard", "demo"]),
];

/// The command line, its help listing the commands by group.
pub fn command() -> clap::Command {
    let cli = Cli::command();
    let listing = listing(&cli);
    cli.help_template(format!(
        "{{about-with-newline}}\n{{usage-heading}} {{usage}}\n\n{listing}\n\
         Options:\n{{options}}{{after-help}}"
    ))
}

/// The groups' commands with their short lines, aligned; a command this
/// build does not have (the demo) is left out.
fn listing(cli: &clap::Command) -> String {
    let width = GROUPS
        .iter()
        .flat_map(|(_, names)| names.iter().map(|n| n.len()))
        .max()
        .unwrap_or(0);
    let mut text = String::new();
    for (group, names) in GROUPS {
        text.push_str(&format!("{group}:\n"));
        for name in names {
            if let Some(command) = cli.find_subcommand(name) {
                let about = command.get_about().map(ToString::to_string);
                let line = about.unwrap_or_default();
                text.push_str(&format!(
                    "  {name:width$}  {}\n",
                    line.trim_end_matches('.')
                ));
            }
        }
        text.push('\n');
    }
    text.truncate(text.trim_end().len() + 1);
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_command_is_in_exactly_one_group() {
        let cli = Cli::command();
        for command in cli.get_subcommands() {
            let name = command.get_name();
            let homes = GROUPS
                .iter()
                .filter(|(_, names)| names.contains(&name))
                .count();
            assert_eq!(homes, 1, "{name} is in {homes} groups");
        }
        for name in GROUPS.iter().flat_map(|(_, names)| names.iter()) {
            let known = *name == "demo" || cli.find_subcommand(name).is_some();
            assert!(known, "the group lists {name}, which is no command");
        }
    }

    #[test]
    fn help_lists_each_command_on_one_short_line_under_its_group() {
        let help = command().render_help().to_string();
        for (group, names) in GROUPS {
            assert!(help.contains(&format!("{group}:\n")), "{help}");
            for name in names.iter().filter(|n| **n != "demo") {
                let line = help
                    .lines()
                    .find(|l| l.trim_start().starts_with(&format!("{name} ")))
                    .unwrap_or_else(|| panic!("{name} is not listed:\n{help}"));
                assert!(line.len() <= 80, "{name}'s line is long: {line:?}");
            }
        }
        assert!(!help.contains("Pull from Square"), "{help}");
    }

    #[test]
    fn help_of_a_command_has_its_long_text() {
        let mut cli = command();
        let sync = cli.find_subcommand_mut("sync").unwrap();
        let long = sync.render_long_help().to_string();
        assert!(long.contains("Square or a connector"), "{long}");
    }
}
