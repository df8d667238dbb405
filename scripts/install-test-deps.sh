#!/usr/bin/env bash
# Installs what confab's tests need on a fresh Debian 12 machine (run as root):
#   apt: chromium (browser E2E), fonts-noto-cjk + fonts-noto-color-emoji (Chinese and emoji in the
#        browser tests and their screenshots), coturn (its turnutils_* clients for TURN interop), iproute2 + iptables (network namespaces), curl, openssl,
#        ffmpeg + mkvtoolnix (ffprobe and mkvinfo read the recordings; ffmpeg makes test media),
#        redis-server + nginx (the cluster tests start their own, on loopback or in a lab namespace;
#        the packages' own services are not started: this machine has no systemd),
#        pebble (Let's Encrypt's test CA and its DNS server, for the ACME tests on loopback),
#        python3-gi + gir1.2-gst-rtsp-server-1.0 + gstreamer1.0-plugins-{base,good,ugly,bad}
#        (the IP camera test's RTSP server, crates/server/tests/rtsp/server.py: x264enc is in
#        -ugly, the RTP payloaders and mulawenc in -good, x265enc in -bad)
#   npm: playwright-core, typescript, @types/node, and for the WHIP/WHEP test Eyevinn's
#   WHIP client and WebRTC player with esbuild to bundle them for the browser, pinned in
#   package-lock.json (`npm ci`)
#   cargo: cargo-fuzz (fuzz smoke; uses the nightly toolchain already on the machine)
# Idempotent: skips what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
for pkg in chromium fonts-noto-cjk fonts-noto-color-emoji coturn iproute2 iptables curl openssl \
  ffmpeg mkvtoolnix redis-server nginx pebble \
  python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-base gstreamer1.0-plugins-good \
  gstreamer1.0-plugins-ugly gstreamer1.0-plugins-bad; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need_apt+=("$pkg")
done
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "install-test-deps: need root to apt-get install ${need_apt[*]}" >&2
    exit 1
  fi
  echo "== apt-get install ${need_apt[*]}"
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need_apt[@]}"
fi

echo "== npm ci"
npm ci --no-audit --no-fund --loglevel=error

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "== cargo install cargo-fuzz"
  cargo install cargo-fuzz --locked --quiet
fi
