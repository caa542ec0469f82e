// Node's `http2` server answering GET /N with N bytes and `content-length: N`.
// The body is piped from a Readable in 64 KiB chunks, one per event-loop
// turn, as `fs.createReadStream(file).pipe(stream)` does: the end of the body
// is known only after its last chunk was handed to nghttp2, so END_STREAM
// goes in an empty DATA frame of its own (the shape of issue 15, item 3).
//
// Byte i of every body is (i * 31 + 7) & 0xff.
//
// usage: node node_sized_server.js            (h2c, prior knowledge)
//        node node_sized_server.js KEY CERT   (TLS, ALPN h2)
// Prints the port it listens on (127.0.0.1) on its first line.
'use strict';
const http2 = require('http2');
const fs = require('fs');
const { Readable } = require('stream');

const CHUNK = 64 * 1024;

function body(n) {
  let sent = 0;
  return new Readable({
    read() {
      if (sent >= n) {
        this.push(null);
        return;
      }
      const len = Math.min(CHUNK, n - sent);
      const buf = Buffer.allocUnsafe(len);
      for (let i = 0; i < len; i++) buf[i] = ((sent + i) * 31 + 7) & 0xff;
      sent += len;
      setImmediate(() => this.push(buf));
    },
  });
}

function onStream(stream, headers) {
  const n = parseInt((headers[':path'] || '/').slice(1), 10);
  if (!Number.isSafeInteger(n) || n < 0) {
    stream.respond({ ':status': 404 });
    stream.end();
    return;
  }
  stream.respond({ ':status': 200, 'content-length': String(n) });
  body(n).pipe(stream);
}

const [key, cert] = process.argv.slice(2);
const server = key
  ? http2.createSecureServer({ key: fs.readFileSync(key), cert: fs.readFileSync(cert) })
  : http2.createServer();
server.on('stream', onStream);
server.on('sessionError', () => {});
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
