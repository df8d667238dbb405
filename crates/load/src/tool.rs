//! The `main` both load tools share: the open-files limit, a runtime, a hard ceiling over
//! the run, the report printed (and written as JSON), and the exit code.

use std::future::Future;
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

/// What a run reports: printed for a person, written as JSON for a script, and whether
/// it passed its own checks.
pub trait RunReport: std::fmt::Display {
    /// The figures as JSON.
    fn to_json(&self) -> serde_json::Value;
    /// Whether the run passed (exit status 0; else 1).
    fn passed(&self) -> bool;
}

impl RunReport for crate::Report {
    fn to_json(&self) -> serde_json::Value {
        crate::Report::to_json(self)
    }
    fn passed(&self) -> bool {
        self.ok()
    }
}

impl RunReport for crate::media::MediaReport {
    fn to_json(&self) -> serde_json::Value {
        crate::media::MediaReport::to_json(self)
    }
    fn passed(&self) -> bool {
        self.held()
    }
}

/// Runs `run` for tool `name`: raises the open-files limit to `files` (a warning if it
/// cannot), stops it after `limit_s` seconds whatever its own deadlines, prints the
/// report, writes it to `json` if given. Exit 0: passed; 1: did not; 2: no report.
pub fn main_with<R, F>(
    name: &str,
    files: u64,
    limit_s: f64,
    json: Option<&Path>,
    run: F,
) -> ExitCode
where
    R: RunReport,
    F: Future<Output = anyhow::Result<R>>,
{
    let got = crate::raise_nofile(files);
    if got < files {
        eprintln!("warning: open-files limit is {got}, below the {files} this run needs");
    }
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("{name}: cannot start the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let ceiling = Duration::from_secs_f64(limit_s);
    let report = match rt.block_on(async { tokio::time::timeout(ceiling, run).await }) {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => {
            eprintln!("{name}: {e:#}");
            return ExitCode::from(2);
        }
        Err(_) => {
            eprintln!("{name}: the run exceeded its {limit_s:.0} s ceiling");
            return ExitCode::from(2);
        }
    };
    println!("{report}");
    if let Some(path) = json {
        if let Err(e) = std::fs::write(path, report.to_json().to_string()) {
            eprintln!("{name}: cannot write {}: {e}", path.display());
            return ExitCode::from(2);
        }
    }
    // Don't wait for the client tasks' sockets to close politely.
    rt.shutdown_timeout(Duration::from_secs(1));
    if report.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
