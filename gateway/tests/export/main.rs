//! The exports at their boundary: a chain with two fiscal years, awards,
//! payments, amendments and deliveries is written into a real store, and the
//! CSV and the OCDS package taken from it are checked against what the test
//! submitted, counted here, never read back from the export's own code.
//!
//! The OCDS package is validated against the OCDS 1.1.5 release package
//! schema (the copy in `tests/ocds-1.1.5/`, offline), and deliberately broken
//! copies of it must fail that validation.
//!
//! The tests, by what they check:
//! - [`table`]: the CSV table and its year filter;
//! - [`taking`]: the height an export is taken at, and a store that
//!   disagrees with the state;
//! - [`ocds`]: the OCDS release package and its schema;
//! - [`extension`]: the package's OCDS extension declares every field
//!   outside OCDS, and the configured `ocid` prefix;
//! - [`fixture`]: the chain they read, and the helpers they share.

mod extension;
mod fixture;
mod ocds;
mod table;
mod taking;
