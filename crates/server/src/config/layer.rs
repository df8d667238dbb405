//! The layering, written once for every section: flags > environment > file > defaults.
//!
//! Each setting is one clap argument, declared in its section's struct with its flag,
//! environment variable and default. The `--config` file is folded in by clap itself:
//! after a first parse finds the file, each of its keys becomes the *default* of the
//! argument with the same id (`listen`, or `turn.listen` for the `[turn]` table), unless
//! a flag or variable set it, and the command is parsed again. So the precedence lives in
//! clap's, and a new setting needs nothing here.
//!
//! Keys that are not arguments are errors naming the key (typos are caught), as are
//! values the argument's parser rejects. Three keys are not plain arguments: `ice_servers`
//! (tables, read by the hub section), `camera` (`[[camera]]` tables, read by
//! `streams/camera/settings.rs`) and `turn.enabled` (the inverse of `--no-turn`).

use super::ConfigError;
use clap::{ArgMatches, Command};
use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// File keys that are read with serde rather than being clap arguments.
pub(super) const FILE_ONLY: &[&str] = &["ice_servers", crate::streams::camera::settings::KEY];

/// Arguments that are no file key: `--config` itself, `--ice-server` (the file's
/// `ice_servers` is its long form) and `--no-turn` (the file says `turn.enabled`).
const FLAG_ONLY: &[&str] = &["config", "ice_server", "turn.no_turn", "help", "version"];

/// Parses `argv` with `cmd` (which, or whose subcommand in use, flattens
/// [`super::Config`]) as flags > env > file > defaults. Returns the matches and the file's
/// table, if a file was given, for the [`FILE_ONLY`] keys.
pub fn parse(
    cmd: Command,
    argv: Vec<OsString>,
) -> Result<(ArgMatches, Option<toml::Table>), ConfigError> {
    let first = cmd.clone().try_get_matches_from(&argv)?;
    let sub = first.subcommand().map(|(name, m)| (name.to_owned(), m));
    let config_matches = sub.as_ref().map_or(&first, |(_, m)| *m);
    let Ok(Some(path)) = config_matches.try_get_one::<PathBuf>("config") else {
        return Ok((first, None));
    };
    let path = path.clone();
    let table = read(&path)?;
    let cmd = match &sub {
        Some((name, m)) => {
            let sub_cmd = cmd
                .find_subcommand(name)
                .cloned()
                .expect("the matched subcommand exists");
            let sub_cmd = with_file(sub_cmd, m, &table, &path)?;
            cmd.mut_subcommand(name, |_| sub_cmd)
        }
        None => with_file(cmd, &first, &table, &path)?,
    };
    let second = cmd.try_get_matches_from(&argv)?;
    Ok((second, Some(table)))
}

/// Reads and parses the TOML file.
pub(super) fn read(path: &Path) -> Result<toml::Table, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })?;
    toml::from_str(&text).map_err(|e| ConfigError::Parse {
        path: path.to_owned(),
        message: one_line_toml_error(&text, &e),
    })
}

/// `cmd` with the file's values as defaults of the arguments `first` did not get from a
/// flag or the environment.
fn with_file(
    mut cmd: Command,
    first: &ArgMatches,
    table: &toml::Table,
    path: &Path,
) -> Result<Command, ConfigError> {
    let bad = |message: String| ConfigError::Parse {
        path: path.to_owned(),
        message,
    };
    for (key, values) in flatten(table).map_err(&bad)? {
        let (id, values) = match key.as_str() {
            k if FILE_ONLY.contains(&k) => continue,
            // `enabled = false` is `--no-turn`.
            "turn.enabled" => ("turn.no_turn".to_owned(), invert(values).map_err(&bad)?),
            _ => (key.clone(), values),
        };
        let arg = cmd.get_arguments().find(|a| a.get_id() == id.as_str());
        let Some(arg) = arg.filter(|_| !FLAG_ONLY.contains(&key.as_str())) else {
            return Err(bad(format!(
                "unknown field `{key}`, expected one of {}",
                file_keys(&cmd)
                    .iter()
                    .map(|k| format!("`{k}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        };
        for v in &values {
            check_value(arg, v).map_err(|why| bad(format!("`{key}`: {why}")))?;
        }
        use clap::parser::ValueSource::{CommandLine, EnvVariable};
        if matches!(first.value_source(&id), Some(CommandLine | EnvVariable)) {
            continue;
        }
        // The file's list items are whole values: not split at commas like a flag's.
        cmd = cmd.mut_arg(&id, |a| a.default_values(values).value_delimiter(None));
    }
    Ok(cmd)
}

/// Runs `arg`'s own parser on `value` (alone, so nothing else is required).
fn check_value(arg: &clap::Arg, value: &str) -> Result<(), String> {
    let probe = Command::new("file")
        .no_binary_name(true)
        .arg(clap::Arg::new("value").value_parser(arg.get_value_parser().clone()));
    match probe.try_get_matches_from([value]) {
        Ok(_) => Ok(()),
        Err(e) => {
            let text = e.to_string();
            let first = text.lines().next().unwrap_or("");
            Err(first
                .trim_start_matches("error: ")
                .replace(" for '[value]'", ""))
        }
    }
}

/// The file keys `cmd` accepts: its argument ids (`turn.listen` for `[turn] listen`),
/// with the two keys that are not plain arguments.
pub fn file_keys(cmd: &Command) -> Vec<String> {
    let mut keys: Vec<String> = cmd
        .get_arguments()
        .map(|a| a.get_id().as_str())
        .filter(|id| !FLAG_ONLY.contains(id))
        .map(str::to_owned)
        .chain(FILE_ONLY.iter().map(|k| k.to_string()))
        .chain(["turn.enabled".to_owned()])
        .collect();
    keys.sort();
    keys
}

/// `key = value` pairs of the file, tables' keys prefixed (`turn.listen`), each value
/// as the text a flag would carry; a list gives one text per item.
fn flatten(table: &toml::Table) -> Result<Vec<(String, Vec<String>)>, String> {
    let mut out = Vec::new();
    for (key, value) in table {
        match value {
            toml::Value::Table(inner) => {
                for (k, v) in inner {
                    let full = format!("{key}.{k}");
                    if let toml::Value::Table(_) = v {
                        return Err(format!("`{full}` must be a value, not a table"));
                    }
                    let texts = texts(&full, v)?;
                    out.push((full, texts));
                }
            }
            _ if FILE_ONLY.contains(&key.as_str()) => out.push((key.clone(), Vec::new())),
            v => out.push((key.clone(), texts(key, v)?)),
        }
    }
    Ok(out)
}

fn texts(key: &str, value: &toml::Value) -> Result<Vec<String>, String> {
    let one = |v: &toml::Value| match v {
        toml::Value::String(s) => Ok(s.clone()),
        toml::Value::Integer(i) => Ok(i.to_string()),
        toml::Value::Boolean(b) => Ok(b.to_string()),
        toml::Value::Float(f) => Ok(f.to_string()),
        _ => Err(format!(
            "`{key}` must be a string, number, boolean or list of them"
        )),
    };
    match value {
        toml::Value::Array(items) => items.iter().map(one).collect(),
        v => Ok(vec![one(v)?]),
    }
}

fn invert(values: Vec<String>) -> Result<Vec<String>, String> {
    match values.as_slice() {
        [v] if v == "true" => Ok(vec!["false".into()]),
        [v] if v == "false" => Ok(vec!["true".into()]),
        _ => Err("`turn.enabled` must be true or false".into()),
    }
}

/// `line L, column C: message` — the TOML error on one line (its `Display` draws a
/// multi-line excerpt of the file, which would also echo a secret on that line).
fn one_line_toml_error(text: &str, e: &toml::de::Error) -> String {
    let message = e.message().trim().replace('\n', " ");
    match e.span() {
        Some(span) => {
            let before = &text[..span.start.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
            format!("line {line}, column {column}: {message}")
        }
        None => message,
    }
}
