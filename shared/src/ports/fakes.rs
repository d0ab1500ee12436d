//! In-memory fakes of the ports, for fast use-case tests.
