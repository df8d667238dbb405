//! `confab-abuse`: see `confab_load::abuse` and `confab-abuse --help`.

use clap::Parser;
use confab_load::abuse::{run, AbuseOpts};
use confab_load::tool;
use std::process::ExitCode;

fn main() -> ExitCode {
    let opts = AbuseOpts::parse();
    // Every guesser, idle socket, flooder and ghost holds a descriptor or a few.
    let files = u64::from(opts.idle) * 2 + u64::from(opts.guessers) + 4096;
    tool::main_with(
        "confab-abuse",
        files,
        opts.duration + 30.0,
        opts.json.as_deref(),
        run(&opts),
    )
}
