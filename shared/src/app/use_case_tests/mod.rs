//! Use-case rules against in-memory fakes of the ports: fast, no engines.
