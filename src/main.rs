//! The `qc-harness` binary: parse arguments, run one library function, exit with its code.

fn main() {
    std::process::exit(qc_harness::cli::main());
}
