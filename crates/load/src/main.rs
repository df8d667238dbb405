//! `confab-load`: see the library docs and `confab-load --help`.

use clap::Parser;
use confab_load::{run, tool, Opts};
use std::process::ExitCode;

fn main() -> ExitCode {
    let opts = Opts::parse();
    let files = u64::from(opts.clients) + 1024;
    // Hard ceiling over every phase's own deadline.
    let limit = opts.connect_timeout + opts.settle + opts.duration + opts.drain_timeout + 60.0;
    tool::main_with(
        "confab-load",
        files,
        limit,
        opts.json.as_deref(),
        run(&opts),
    )
}
