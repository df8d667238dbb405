//! `confab-media`: see [`confab_load::media`] and `confab-media --help`.

use clap::Parser;
use confab_load::media::{run, MediaOpts};
use confab_load::raise_nofile;
use std::process::ExitCode;
use std::time::Duration;

fn main() -> ExitCode {
    let opts = MediaOpts::parse();
    // A socket per peer, a WebSocket per member, HTTP requests in flight.
    let want = u64::from(opts.size) * 4 + 1024;
    let got = raise_nofile(want);
    if got < want {
        eprintln!("warning: open-files limit is {got}, below the {want} this run needs");
    }
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("confab-media: cannot start the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    // Hard ceiling over every phase's own deadline.
    let limit = opts.setup_timeout + opts.warmup + opts.duration + 60.0;
    let result = rt
        .block_on(async { tokio::time::timeout(Duration::from_secs_f64(limit), run(&opts)).await });
    let report = match result {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => {
            eprintln!("confab-media: {e:#}");
            return ExitCode::from(2);
        }
        Err(_) => {
            eprintln!("confab-media: the run exceeded its {limit:.0} s ceiling");
            return ExitCode::from(2);
        }
    };
    println!("{report}");
    if let Some(path) = &opts.json {
        if let Err(e) = std::fs::write(path, report.to_json().to_string()) {
            eprintln!("confab-media: cannot write {}: {e}", path.display());
            return ExitCode::from(2);
        }
    }
    rt.shutdown_timeout(Duration::from_secs(1));
    if report.held() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
