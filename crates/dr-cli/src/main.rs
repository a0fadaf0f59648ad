//! `dr`: the command line of `demand-response` — solve, simulate, verify and study the
//! demand-response market models from TOML/JSON scenario files. See `dr --help`.

fn main() -> std::process::ExitCode {
    dr_cli::main()
}
