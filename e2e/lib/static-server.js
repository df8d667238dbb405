// A trivial HTTPS server for the harness self-test (no confab needed): serves a blank
// page on every path and `ok` on /healthz. Run inside a namespace:
//   ip netns exec <ns> node e2e/lib/static-server.js <ip> <port> <key.pem> <cert.pem>

import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';

const [ip, port, keyPath, certPath] = process.argv.slice(2);
if (!certPath) {
  console.error('usage: static-server.js <ip> <port> <key.pem> <cert.pem>');
  process.exit(2);
}
const server = createServer({ key: readFileSync(keyPath), cert: readFileSync(certPath) }, (req, res) => {
  if (req.url === '/healthz') {
    res.end('ok');
    return;
  }
  res.setHeader('content-type', 'text/html; charset=utf-8');
  res.end(`<!doctype html><meta charset="utf-8"><title>harness</title><h1 id="hello">hello from ${ip}</h1>`);
});
server.listen(Number(port), ip, () => console.log(`static-server listening on https://${ip}:${port}`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
