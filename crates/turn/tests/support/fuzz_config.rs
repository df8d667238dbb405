//! The TURN configuration of the `turn` fuzz target, shared with the test that writes its
//! seeds (`tests/fuzz_seeds.rs`): the seeds carry nonces and credentials valid for exactly
//! this server, so both must build it from this one file.

use confab_turn::TurnConfig;

/// The fuzzed server's configuration (server seed 1).
pub fn fuzz_config() -> TurnConfig {
    let mut config = TurnConfig {
        rest_secret: Some(b"secret".to_vec()),
        static_users: vec![("ada".into(), "lovelace".into())],
        relay_ip: "198.51.100.1".parse().unwrap(),
        max_allocations: 3,
        user_quota: 2,
        ..TurnConfig::default()
    };
    config.peer_policy.allow = vec!["127.0.0.1/32".parse().unwrap()];
    config
}
