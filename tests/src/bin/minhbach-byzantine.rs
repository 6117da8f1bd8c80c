//! `minhbach` with every validator it runs made Byzantine: it double-signs
//! its prevotes and precommits and proposes two blocks in each round it
//! leads (see `node::driver::byzantine`). Only the tests start it.

fn main() -> std::process::ExitCode {
    node::driver::byzantine::enable();
    cli::main()
}
