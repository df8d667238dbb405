//! The load tools' tests run a real confab in this process: the config every test starts
//! from, and starting it.
#![allow(dead_code)]

use confab_server::config::Config;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// Plain HTTP on 127.0.0.1 (port 0), no chat store on disk; callers set the rest.
pub fn config() -> Config {
    let mut config = Config::default();
    config.http.listen = "127.0.0.1:0".parse().unwrap();
    config.http.insecure_http = true;
    config.store.chat_retention_days = 0;
    config
}

/// Binds `config`'s listeners and runs confab on them until the token is cancelled;
/// returns its WebSocket URL and its TURN UDP address (when TURN runs).
pub fn serve(config: Config) -> (String, Option<SocketAddr>, CancellationToken) {
    let listeners = confab_server::Listeners::bind(&config).unwrap();
    let addr = listeners.http.local_addr().unwrap();
    let turn = listeners.turn.as_ref().map(|t| t.udp.local_addr().unwrap());
    let shutdown = CancellationToken::new();
    tokio::spawn(confab_server::run(
        listeners,
        Arc::new(config),
        None,
        shutdown.clone(),
    ));
    (format!("ws://{addr}/ws"), turn, shutdown)
}
