//! `confab-load`: see the library docs and `confab-load --help`.

use clap::Parser;
use confab_load::{raise_nofile, run, Opts};
use std::process::ExitCode;
use std::time::Duration;

fn main() -> ExitCode {
    let opts = Opts::parse();
    let want = u64::from(opts.clients) + 1024;
    let got = raise_nofile(want);
    if got < want {
        eprintln!("warning: open-files limit is {got}, below the {want} this run needs");
    }
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("confab-load: cannot start the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    // Hard ceiling over every phase's own deadline.
    let limit = opts.connect_timeout + opts.settle + opts.duration + opts.drain_timeout + 60.0;
    let result = rt
        .block_on(async { tokio::time::timeout(Duration::from_secs_f64(limit), run(&opts)).await });
    let report = match result {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => {
            eprintln!("confab-load: {e:#}");
            return ExitCode::from(2);
        }
        Err(_) => {
            eprintln!("confab-load: the run exceeded its {limit:.0} s ceiling");
            return ExitCode::from(2);
        }
    };
    println!("{report}");
    if let Some(path) = &opts.json {
        if let Err(e) = std::fs::write(path, report.to_json().to_string()) {
            eprintln!("confab-load: cannot write {}: {e}", path.display());
            return ExitCode::from(2);
        }
    }
    // Don't wait for the client tasks' sockets to close politely.
    rt.shutdown_timeout(Duration::from_secs(1));
    if report.ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
