//! The `minhbach` binary; everything is in the library so that integration
//! tests can run the same command line.

fn main() -> std::process::ExitCode {
    cli::main()
}
