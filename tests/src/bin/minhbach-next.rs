//! `minhbach` as a build of the next protocol version would be: it runs
//! the version after this one (see `node::driver::upgrade`), with today's
//! rules. Only the tests start it, to show what an upgrade does to nodes
//! that have the new build and to those that do not.

fn main() -> std::process::ExitCode {
    node::driver::upgrade::speak(ledger::block::PROTOCOL_VERSION + 1);
    cli::main()
}
