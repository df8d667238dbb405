//! TURN TCP connections are capped per client address and in total, like HTTP ones
//! (issue 12 item 5): one beyond a cap is closed at once, other addresses are
//! unaffected until the total is reached, a freed place is usable again, and `/metrics`
//! counts open and refused connections.

mod common;

use common::net::{closed_at_once, connect_from};
use common::TestServer;
use std::time::Duration;

#[tokio::test]
async fn turn_tcp_connections_are_capped_per_address_and_in_total() {
    let s = TestServer::start_turn(|t| {
        t.max_stream_connections_per_ip = 2;
        t.max_stream_connections = 3;
    })
    .await;
    let turn = s.turn_addr.unwrap();
    let mut a1 = connect_from("127.0.0.1", turn).await;
    let _a2 = connect_from("127.0.0.1", turn).await;
    let mut a3 = connect_from("127.0.0.1", turn).await;
    assert!(closed_at_once(&mut a3).await, "a 3rd from one address");
    assert!(!closed_at_once(&mut a1).await, "the first two stay");
    let mut b1 = connect_from("127.0.0.2", turn).await;
    let mut b2 = connect_from("127.0.0.2", turn).await;
    assert!(
        !closed_at_once(&mut b1).await,
        "another address is admitted"
    );
    assert!(closed_at_once(&mut b2).await, "until the total is reached");
    let (_, _, metrics) = s.get("/metrics").await;
    assert!(
        metrics.contains("confab_turn_stream_connections 3"),
        "{metrics}"
    );
    for (reason, n) in [("per_ip", 1), ("total", 1)] {
        let line =
            format!("confab_turn_stream_connections_refused_total{{reason=\"{reason}\"}} {n}");
        assert!(metrics.contains(&line), "{line}\n{metrics}");
    }
    // A freed place is taken again.
    drop(a1);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut again = connect_from("127.0.0.1", turn).await;
    assert!(!closed_at_once(&mut again).await, "a freed place");
}
