//! The `minhbach` command line, built in this package so that integration
//! tests can start it as `CARGO_BIN_EXE_minhbach-under-test`.

fn main() -> std::process::ExitCode {
    cli::main()
}
