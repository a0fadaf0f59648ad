//! `dr`: the command line of `demand-response` — solve, simulate, verify and study the
//! demand-response market models from TOML/JSON scenario files. See `dr --help`.

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
