//! What the SFU's driver logs at `debug` to follow a negotiation: who offered or
//! answered what, with each SDP's m-lines in a few words (never the SDP itself, which
//! carries ICE passwords).

use confab_signal::MediaCommand;

/// Logs, at `debug`, what a member asks of the SFU: enough to follow a negotiation
/// (whose offer crossed whose) without the SDP's secrets (its ICE password).
pub(super) fn trace_command(cmd: &MediaCommand) {
    if !tracing::enabled!(tracing::Level::DEBUG) {
        return;
    }
    match cmd {
        MediaCommand::Join {
            endpoint,
            offer,
            label,
            ..
        } => {
            let peer = label.as_str();
            tracing::debug!(endpoint = endpoint.0, peer, sdp = %SdpSummary(offer), "SFU join")
        }
        MediaCommand::Offer { endpoint, sdp } => {
            tracing::debug!(endpoint = endpoint.0, sdp = %SdpSummary(sdp), "SFU offer in")
        }
        MediaCommand::Answer { endpoint, sdp } => {
            tracing::debug!(endpoint = endpoint.0, sdp = %SdpSummary(sdp), "SFU answer in")
        }
        MediaCommand::Leave { endpoint } => tracing::debug!(endpoint = endpoint.0, "SFU leave"),
        _ => {}
    }
}

/// An SDP's m-lines as `kind:direction` (`video:sendonly audio:inactive ...`).
pub(super) struct SdpSummary<'a>(pub(super) &'a str);

impl std::fmt::Display for SdpSummary<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut kind = None;
        let mut dir = "sendrecv";
        let mut first = true;
        let mut flush = |f: &mut std::fmt::Formatter<'_>, kind: Option<&str>, dir: &str| {
            let Some(kind) = kind else { return Ok(()) };
            let sep = if std::mem::take(&mut first) { "" } else { " " };
            write!(f, "{sep}{kind}:{dir}")
        };
        for line in self.0.lines() {
            if let Some(rest) = line.strip_prefix("m=") {
                flush(f, kind, dir)?;
                kind = rest.split(' ').next();
                // A port of 0 is a stopped m-line.
                dir = if rest.split(' ').nth(1) == Some("0") {
                    "stopped"
                } else {
                    "sendrecv"
                };
            } else if let Some(d) = line.strip_prefix("a=") {
                if dir != "stopped"
                    && matches!(d, "sendonly" | "recvonly" | "inactive" | "sendrecv")
                {
                    dir = d;
                }
            }
        }
        flush(f, kind, dir)
    }
}

#[cfg(test)]
mod tests {
    use super::SdpSummary;

    #[test]
    fn an_sdp_is_summed_up_by_its_m_lines_kinds_and_directions() {
        let sdp = "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=sendonly\r\n\
                   m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:1\r\n\
                   m=video 0 UDP/TLS/RTP/SAVPF 96\r\na=inactive\r\n";
        assert_eq!(
            SdpSummary(sdp).to_string(),
            "audio:sendonly video:sendrecv video:stopped"
        );
        assert_eq!(SdpSummary("v=0\r\n").to_string(), "");
    }
}
