//! `confab`: self-hosted video calls in one binary.

use anyhow::Context;
use clap::builder::TypedValueParser as _;
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use confab_server::config::{self, Config, ConfigError, LogFormat, TlsMode};
use confab_server::tls::{self, TlsOrigin};
use confab_server::Listeners;
use std::process::ExitCode;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

#[derive(Parser)]
#[command(
    name = "confab",
    version,
    about = "Self-hosted video calls: web app, signaling and STUN/TURN in one binary"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (HTTPS web app + signaling WebSocket).
    Serve(Config),
    /// Validate the configuration (file, env and flags, exactly as `serve` reads them)
    /// and print the effective configuration as TOML, secrets redacted. Binds nothing.
    CheckConfig(Config),
    /// Mint a join token (HS256, with the configured token key) and print it.
    Token(TokenArgs),
    /// Read a room password from stdin and print its argon2 hash, for
    /// `--room-password ROOM=HASH` or `room_passwords` in the `[auth]` table.
    HashPassword,
    /// Work on a recording under the data dir: `compose` mixes its tracks into one
    /// file with ffmpeg (a grid of the pictures, the voices mixed) and prints its path.
    Recording(RecordingArgs),
}

#[derive(clap::Args)]
struct RecordingArgs {
    /// What to do: `compose` writes `<recording folder>/composed.mp4` (H.264 and AAC).
    action: RecordingAction,
    /// The room.
    room: String,
    /// The recording's id: its folder, `<start ms>-<call>`, as `recordings` lists it.
    recording: String,
    /// Stop ffmpeg after this long: seconds, or a number with s, m, h or d (default: a
    /// minute plus three times the recording's length).
    #[arg(long, value_parser = parse_ttl)]
    timeout: Option<u64>,
    /// Where the recordings are: the same flags, env and file as `serve` (`--data-dir`).
    #[command(flatten)]
    serve: Config,
}

/// What `confab recording` does (an argument rather than a subcommand, so the
/// configuration file layers in as for every other command).
#[derive(Clone, Copy, clap::ValueEnum)]
enum RecordingAction {
    /// Mix the recording's tracks into one file.
    Compose,
}

#[derive(clap::Args)]
struct TokenArgs {
    /// The room the token admits to.
    #[arg(long)]
    room: String,
    /// The display name its holder appears under.
    #[arg(long)]
    name: String,
    /// The holder's role: guest, host, or viewer (watches a broadcast; sends media only on stage).
    #[arg(
        long,
        default_value = "guest",
        value_parser = clap::builder::PossibleValuesParser::new(["guest", "host", "viewer"])
            .try_map(|s| s.parse::<confab_server::auth::token::Role>()),
    )]
    role: confab_server::auth::token::Role,
    /// How long it is valid: seconds, or a number with s, m, h or d (at most the
    /// server's --token-max-lifetime).
    #[arg(long, default_value = "1h", value_parser = parse_ttl)]
    ttl: u64,
    /// Whom it names (`sub`, the application's user id); a kick bans it in the room.
    /// Without it, the name stands for the holder.
    #[arg(long)]
    subject: Option<String>,
    /// Where the token key comes from: the same flags, env and file as `serve`.
    #[command(flatten)]
    serve: Config,
}

/// `90`, `90s`, `15m`, `1h`, `7d` as seconds.
fn parse_ttl(s: &str) -> Result<u64, String> {
    let (num, unit) = match s.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => s.split_at(i),
        None => (s, "s"),
    };
    let n: u64 = num
        .parse()
        .map_err(|_| format!("{s:?} is not a duration like 1h"))?;
    let mult = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(format!("{s:?}: the unit must be s, m, h or d")),
    };
    match n.checked_mul(mult) {
        Some(secs) if secs > 0 => Ok(secs),
        _ => Err(format!("{s:?} is not a usable duration")),
    }
}

fn main() -> ExitCode {
    // One crypto backend for everything (rustls panics if two are compiled in and none
    // is chosen); done before any TLS object exists.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let cli = match parse_cli() {
        Ok(cli) => cli,
        Err(ConfigError::Args(e)) => e.exit(),
        Err(e) => {
            eprintln!("confab: error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = match cli.command {
        Command::Serve(args) => serve(args),
        Command::CheckConfig(args) => check_config(args),
        Command::Token(args) => token(args),
        Command::HashPassword => hash_password(),
        Command::Recording(args) => return recording(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("confab: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// The command line, the environment and the `--config` file, layered (see
/// `config::parse`), with the chosen subcommand's configuration checked.
fn parse_cli() -> Result<Cli, ConfigError> {
    let (matches, file) = config::parse(Cli::command(), std::env::args_os().collect())?;
    let mut cli = Cli::from_arg_matches(&matches)?;
    let config = match &mut cli.command {
        Command::Serve(c) | Command::CheckConfig(c) => c,
        Command::Token(t) => &mut t.serve,
        Command::Recording(r) => &mut r.serve,
        Command::HashPassword => return Ok(cli),
    };
    *config = config.clone().finish(file.as_ref())?;
    Ok(cli)
}

/// `confab check-config`: resolve as `serve` does, print the redacted result.
fn check_config(config: Config) -> anyhow::Result<()> {
    // Operator-provided certificate files are read (not generated, nothing written).
    if matches!(config.http.tls(), TlsMode::Files { .. }) {
        tls::load(&config)?;
    }
    print!("{}", config.to_toml_redacted());
    Ok(())
}

/// `confab token`: print a join token, and the link that uses it on stderr.
fn token(args: TokenArgs) -> anyhow::Result<()> {
    use confab_server::auth::token::{mint, Audience, Claims};
    let config = args.serve;
    let max = config.auth.token_max_lifetime.as_secs();
    anyhow::ensure!(
        args.ttl <= max,
        "--ttl {} s is longer than the server accepts (--token-max-lifetime {max} s)",
        args.ttl
    );
    let key = config.auth.token_key.as_ref().map(|k| k.expose()).context(
        "no token key: set --token-key, CONFAB_TOKEN_KEY or token_key in the [auth] table",
    )?;
    let room = confab_proto::RoomId::parse(&args.room)
        .with_context(|| format!("{:?} is not a room id", args.room))?;
    let name = confab_proto::normalize_name(&args.name).map_err(|(_, m)| anyhow::anyhow!(m))?;
    let now = confab_server::unix_now();
    let token = mint(
        key,
        &Claims {
            room: room.to_string(),
            name,
            role: args.role,
            exp: now + args.ttl,
            iat: Some(now),
            sub: args.subject,
            // What the server will check, so the token passes it.
            aud: config.auth.token_audience.clone().map(Audience::One),
            iss: config.auth.token_issuer.clone(),
            nbf: None,
        },
    );
    println!("{token}");
    let host = config
        .http
        .public_host
        .first()
        .cloned()
        .unwrap_or_else(|| "localhost".into());
    let scheme = if config.http.tls() == TlsMode::Off {
        "http"
    } else {
        "https"
    };
    eprintln!(
        "join link: {scheme}://{host}:{}/r/{room}?token={token}",
        config.http.listen.port()
    );
    Ok(())
}

/// `confab recording compose`: prints the composed file's path; errors in words, exit
/// code 2 for what the operator can fix (see `ComposeError::exit_code`).
fn recording(args: RecordingArgs) -> ExitCode {
    use confab_server::record::compose;
    let RecordingAction::Compose = args.action;
    let dir = args.serve.data_dir.join("recordings");
    let timeout = args.timeout.map(std::time::Duration::from_secs);
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("confab: error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let done = runtime.block_on(compose::compose(&dir, &args.room, &args.recording, timeout));
    match done {
        Ok(path) => {
            println!("{}", path.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("confab: error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

/// `confab hash-password`: the argon2 hash of the first line of stdin.
fn hash_password() -> anyhow::Result<()> {
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .context("cannot read the password from stdin")?;
    let password = line.trim_end_matches(['\r', '\n']);
    anyhow::ensure!(!password.is_empty(), "empty password (give it on stdin)");
    println!("{}", confab_server::auth::password::hash(password));
    Ok(())
}

/// Logs go to stderr (the banner to stdout), as text or as one JSON object per line.
fn init_logging(config: &Config) -> anyhow::Result<()> {
    let filter = tracing_subscriber::EnvFilter::try_new(&config.log)
        .with_context(|| format!("invalid log filter {:?}", config.log))?;
    let json = matches!(config.log_format, LogFormat::Json);
    confab_server::logging::init(filter, json, std::io::stderr)
        .context("cannot install the logger")?;
    Ok(())
}

fn serve(config: Config) -> anyhow::Result<()> {
    init_logging(&config)?;
    // 0700: the chat store, the TURN secret and the TLS key live here.
    confab_server::store::private::private_dir(&config.data_dir)
        .with_context(|| format!("cannot create data dir {}", config.data_dir.display()))?;
    let mut config = config;
    if config.turn.enabled() && config.turn.secret.is_none() {
        let secret = confab_server::turn::load_or_create_secret(&config.data_dir)?;
        config.turn.secret = Some(secret.into());
    }
    if config.store.chat_retention().is_some() {
        confab_server::store::ChatStore::check(&config.data_dir)?;
    }
    let certs = tls::Certificates::prepare(&config)?;
    let server_tls = certs.as_ref().map(tls::Certificates::server_config);
    let listeners = Listeners::bind(&config)?;
    print_banner(&config, certs.as_ref());
    let https_port = listeners.http.local_addr()?.port();
    tracing::info!(
        listen = %listeners.http.local_addr().unwrap_or(config.http.listen),
        tls = config.http.tls() != TlsMode::Off,
        turn = listeners.turn.is_some(),
        "serving"
    );

    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let shutdown = CancellationToken::new();
        tokio::spawn(signal_shutdown(shutdown.clone()));
        if let Some(certs) = certs {
            certs.spawn(https_port, shutdown.clone());
        }
        confab_server::run(listeners, Arc::new(config), server_tls, shutdown)
            .await
            .context("server failed")
    })?;
    tracing::info!("stopped");
    Ok(())
}

async fn signal_shutdown(token: CancellationToken) {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("SIGTERM handler");
        tokio::select! { _ = ctrl_c => {}, _ = term.recv() => {} }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
    tracing::info!("shutting down: closing connections");
    token.cancel();
}

/// Tells the operator where to point browsers and which certificate they will see.
fn print_banner(config: &Config, certs: Option<&tls::Certificates>) {
    let tls = certs.map(|c| &c.material);
    let scheme = if config.http.tls() == TlsMode::Off {
        "http"
    } else {
        "https"
    };
    let port = config.http.listen.port();
    let ip = config.http.listen.ip();
    let mut hosts: Vec<String> = if ip.is_unspecified() {
        let mut h = vec!["localhost".to_string()];
        h.extend(tls::host_name());
        h
    } else if ip.is_ipv6() {
        vec![format!("[{ip}]")]
    } else {
        vec![ip.to_string()]
    };
    hosts.extend(config.http.public_host.iter().cloned());
    for name in &config.http.acme.acme_domains {
        if !hosts.contains(name) {
            hosts.push(name.clone());
        }
    }
    println!(
        "confab {} listening on {}",
        env!("CARGO_PKG_VERSION"),
        config.http.listen
    );
    for h in hosts {
        println!("  open {scheme}://{h}:{port}/");
    }
    if let Some(t) = tls {
        match &t.origin {
            TlsOrigin::Files => println!("  TLS certificate from the configured files"),
            TlsOrigin::Generated(p) => {
                println!("  generated a self-signed certificate: {}", p.display())
            }
            TlsOrigin::Reused(p) => println!("  self-signed certificate: {}", p.display()),
            TlsOrigin::Acme(p) => println!("  certificate from the ACME CA: {}", p.display()),
        }
        if certs.is_some_and(tls::Certificates::acme_pending) {
            println!(
                "  asking {} for a certificate for {}; the self-signed one serves until then",
                config.http.acme.acme_directory,
                config.http.acme.acme_domains.join(", ")
            );
        }
        println!("  certificate SHA-256 fingerprint: {}", t.fingerprint);
        if matches!(t.origin, TlsOrigin::Generated(_) | TlsOrigin::Reused(_))
            && !certs.is_some_and(tls::Certificates::acme_pending)
        {
            println!("  browsers will warn about it once; compare the fingerprint, then accept");
        }
    } else {
        println!(
            "  plain HTTP: browsers allow camera access only on localhost or behind an HTTPS proxy"
        );
    }
}
