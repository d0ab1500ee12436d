//! The synchub operator CLI's library: the command line ([`args`]), the
//! operator's questions (`health`, `status`, `flags`, `runs`, `trace`: the
//! use cases of `synchub_ops` wired in [`ops`], rendered by [`health`],
//! [`status`] and [`trace`]), the commands that act (`replay`, `sync`,
//! `backfill`), and the local stack the demo and the tests drive: resources
//! named and configured as in template.yaml ([`local`]), stand-ins for
//! Lambda's SQS event source ([`event_source`]) and for API Gateway in front
//! of ingest ([`api_gateway`]).
//! The demo ([`demo`], with its stand-in storefront and customer targets) is
//! only in builds with the `demo` feature.

pub mod api_gateway;
pub mod arg_values;
pub mod args;
pub mod backfill;
pub mod connector;
pub mod cost;
pub mod dashboard;
#[cfg(feature = "demo")]
pub mod demo;
pub mod drift;
pub mod ensure;
pub mod event_source;
pub mod gate;
pub mod health;
pub mod help;
pub mod local;
pub mod maintenance;
pub mod metrics;
pub mod ops;
pub mod replay;
pub mod reshard;
pub mod status;
pub mod sync;
pub mod tenant;
pub mod trace;

/// An error and each of its sources, one per line, for a person to read:
/// `error: …` then `  caused by: …`. A source whose words its parent already
/// shows is not repeated.
pub fn error_report(error: &(dyn std::error::Error + 'static)) -> String {
    let mut report = format!("error: {error}");
    let mut shown = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !shown.contains(&text) {
            report.push_str(&format!("\n  caused by: {text}"));
        }
        shown = text;
        source = cause.source();
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Layer(&'static str, Option<Box<Layer>>);

    impl std::fmt::Display for Layer {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.0)
        }
    }

    impl std::error::Error for Layer {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            self.1.as_deref().map(|l| l as _)
        }
    }

    #[test]
    fn the_report_names_every_cause_once() {
        let error = Layer(
            "DynamoDB Query failed (NETWORK_ERROR): dispatch failure",
            Some(Box::new(Layer(
                "dispatch failure",
                Some(Box::new(Layer("connection refused", None))),
            ))),
        );
        assert_eq!(
            error_report(&error),
            "error: DynamoDB Query failed (NETWORK_ERROR): dispatch failure\n  caused by: connection refused"
        );
        let error = Layer(
            "service error",
            Some(Box::new(Layer("ThrottlingException", None))),
        );
        assert_eq!(
            error_report(&error),
            "error: service error\n  caused by: ThrottlingException"
        );
    }
}
