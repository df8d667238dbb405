//! What every str0m test peer does with a datagram it read.

use std::net::SocketAddr;
use std::time::Instant;
use str0m::net::{Protocol, Receive};
use str0m::{Input, Rtc, RtcError};

/// Feeds a datagram `source` sent to `destination` (over UDP) to `rtc`, if it is one
/// str0m takes; anything else is skipped, as a browser skips it.
pub fn receive(
    rtc: &mut Rtc,
    now: Instant,
    (source, destination): (SocketAddr, SocketAddr),
    bytes: &[u8],
) -> Result<(), RtcError> {
    let Ok(contents) = bytes.try_into() else {
        return Ok(());
    };
    let receive = Receive {
        proto: Protocol::Udp,
        source,
        destination,
        contents,
    };
    let input = Input::Receive(now, receive);
    if rtc.accepts(&input) {
        rtc.handle_input(input)?;
    }
    Ok(())
}
