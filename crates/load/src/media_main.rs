//! `confab-media`: see [`confab_load::media`] and `confab-media --help`.

use clap::Parser;
use confab_load::media::{run, MediaOpts};
use confab_load::tool;
use std::process::ExitCode;

fn main() -> ExitCode {
    let opts = MediaOpts::parse();
    // A socket per peer, a WebSocket per member, HTTP requests in flight.
    let files = u64::from(opts.size) * 4 + 1024;
    // Hard ceiling over every phase's own deadline.
    let limit = opts.setup_timeout + opts.warmup + opts.duration + 60.0;
    tool::main_with(
        "confab-media",
        files,
        limit,
        opts.json.as_deref(),
        run(&opts),
    )
}
