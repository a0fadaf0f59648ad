//! `dr`: the command line of `demand-response` — solve, simulate, verify and study the
//! demand-response market models from TOML/JSON scenario files. See `dr --help`.

mod huge_pages;

/// Large blocks (per-customer arrays) on transparent huge pages when `DR_HUGE_PAGES=1`: see
/// [`huge_pages`].
#[global_allocator]
static ALLOCATOR: huge_pages::HugePages = huge_pages::HugePages;

fn main() -> std::process::ExitCode {
    dr_cli::main()
}
