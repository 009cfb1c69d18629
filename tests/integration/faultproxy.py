"""A fault-injecting HTTP proxy in front of the real search node.

The worker's [elasticsearch] url points at the proxy; the proxy forwards
every request to the real node and passes its answer back -- unless a fault
armed with arm() matches the request, in which case the real node's answer
(the node has acted on the request all the same) is replaced by one a real
node never gives:

  garbage      200, a JSON content type, random bytes
  truncate     the real status and Content-Length, half the body, then the
               connection closed
  drop_items   the real answer with "errors": true and its last item left out
               (fewer items than actions sent)
  permute      the real answer with its items in reverse order
  huge         200, chunked, a body of `size` bytes (1 GiB by default)
               generated as it is sent, never held in memory
  slow         the real answer (status line and headers included) one byte
               every `interval` seconds, until the client hangs up
  hold         the request kept in the proxy, not sent to the node, until
               the threading.Event `release` is set (at most `timeout`
               seconds); then forwarded (whether or not its client is still
               there) and answered as the node answers: a write that
               reaches the node late, after newer ones

Faults match "METHOD PATH" (a regular expression, re.search) and fire
`times` times (None: always).  Every request is recorded in `log` as a
Record: what was asked, the (action, id) pairs of a bulk body, the fault
applied, the ids a fault left unanswered, how many bytes the client took
before it hung up, and snapshot() (a callable given to the constructor, e.g.
the worker's state file) taken when the request arrived and when the answer
was complete."""
import http.client
import http.server
import json
import random
import re
import socket
import threading
import time
import urllib.parse

GIB = 1 << 30
CHUNK = 65536
# Request headers not forwarded: hop-by-hop ones, and Accept-Encoding (the
# proxy rewrites bodies, so it asks the node for them uncompressed).
DROPPED_REQUEST_HEADERS = {"connection", "keep-alive", "transfer-encoding", "te", "upgrade",
                           "proxy-connection", "accept-encoding", "expect", "host"}
DROPPED_RESPONSE_HEADERS = {"connection", "keep-alive", "transfer-encoding", "content-length"}


class Record:
    """One request seen by the proxy."""

    def __init__(self, method, path, actions, state):
        self.method = method
        self.path = path
        self.actions = actions        # [(action, id)] of a bulk body, else []
        self.state_before = state     # snapshot() when the request arrived
        self.state_after = None       # snapshot() once the answer was sent (or refused)
        self.status = None            # the real node's status
        self.fault = None             # the fault applied, or None
        self.unanswered = []          # ids a fault left without an item
        self.sent_bytes = 0           # bytes of the answer the client took
        self.hung_up = False          # the client closed before the answer ended
        self.seconds = 0.0            # from the request's arrival to the answer's end

    def __repr__(self):
        return (f"Record({self.method} {self.path} fault={self.fault} status={self.status}"
                f" actions={len(self.actions)} sent={self.sent_bytes} hung_up={self.hung_up}"
                f" seconds={self.seconds:.1f})")


def bulk_actions(body):
    """The (action, id) pairs of an NDJSON bulk body, in order."""
    out = []
    for line in body.splitlines():
        try:
            obj = json.loads(line)
        except ValueError:
            continue
        if isinstance(obj, dict) and len(obj) == 1:
            (action, meta), = obj.items()
            if action in ("index", "delete", "create", "update") and isinstance(meta, dict) \
                    and "_id" in meta:
                out.append((action, meta["_id"]))
    return out


def item_id(item):
    """The _id of a bulk response item ({"index": {"_id": ...}})."""
    return next(iter(item.values())).get("_id")


class FaultProxy:
    """The proxy, listening on 127.0.0.1:self.port (url: self.url)."""

    def __init__(self, upstream_url, snapshot=None):
        parsed = urllib.parse.urlsplit(upstream_url)
        self.upstream = (parsed.hostname, parsed.port or 80)
        self.snapshot = snapshot or (lambda: None)
        self.lock = threading.Lock()
        self.faults = []  # [pattern, kind, remaining (None: always), options]
        self.log = []
        proxy = self

        class Handler(_Handler):
            owner = proxy

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def arm(self, kind, pattern=r"^POST /_bulk", times=1, **options):
        """Applies fault kind to the next `times` requests matching pattern."""
        assert kind in FAULTS, kind
        with self.lock:
            self.faults.append([re.compile(pattern), kind, times, options])

    def disarm(self):
        """Forwards faithfully from now on."""
        with self.lock:
            self.faults.clear()

    def faulted(self, kind=None):
        """The records of requests a fault (kind, or any) was applied to."""
        with self.lock:
            return [r for r in self.log if r.fault and (kind is None or r.fault == kind)]

    def records(self, pattern=r"^POST /_bulk"):
        with self.lock:
            return [r for r in self.log if re.search(pattern, f"{r.method} {r.path}")]

    def _take_fault(self, request_line):
        """The fault to apply to this request, counting it; None when none."""
        with self.lock:
            for fault in self.faults:
                pattern, kind, remaining, options = fault
                if pattern.search(request_line) and (remaining is None or remaining > 0):
                    if remaining is not None:
                        fault[2] -= 1
                    return kind, options
        return None

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    owner = None  # the FaultProxy (set by a subclass)

    def log_message(self, *args):
        pass  # quiet

    def _forward(self, body):
        """The real node's (status, reason, headers, body) for this request."""
        headers = {k: v for k, v in self.headers.items()
                   if k.lower() not in DROPPED_REQUEST_HEADERS}
        conn = http.client.HTTPConnection(*self.owner.upstream, timeout=120)
        try:
            conn.request(self.command, self.path, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            out = [(k, v) for k, v in resp.getheaders() if k.lower() not in DROPPED_RESPONSE_HEADERS]
            return resp.status, resp.reason, out, data
        finally:
            conn.close()

    def _handle(self):
        started = time.monotonic()
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        actions = bulk_actions(body.decode("utf-8", "replace")) if body and "_bulk" in self.path else []
        record = Record(self.command, self.path, actions, self.owner.snapshot())
        with self.owner.lock:
            self.owner.log.append(record)
        fault = self.owner._take_fault(f"{self.command} {self.path}")
        if fault is not None and fault[0] == "hold":
            record.fault = "hold"
            fault[1]["release"].wait(fault[1].get("timeout", 300))
        status, reason, headers, data = self._forward(body)
        record.status = status
        try:
            if fault is None:
                self._send(status, reason, headers, data, record)
            else:
                record.fault = fault[0]
                FAULTS[fault[0]](self, record, status, reason, headers, data, **fault[1])
        except (BrokenPipeError, ConnectionResetError):
            record.hung_up = True
            self.close_connection = True
        record.seconds = time.monotonic() - started
        record.state_after = self.owner.snapshot()

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _handle

    # --- the answers -------------------------------------------------------

    def _head_bytes(self, status, reason, headers, length=None, chunked=False):
        lines = [f"HTTP/1.1 {status} {reason}"]
        lines += [f"{k}: {v}" for k, v in headers]
        if chunked:
            lines.append("Transfer-Encoding: chunked")
        else:
            lines.append(f"Content-Length: {length}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    def _write(self, data, record):
        self.wfile.write(data)
        self.wfile.flush()
        record.sent_bytes += len(data)

    def _send(self, status, reason, headers, data, record):
        """The answer as given (status, headers, whole body)."""
        self._write(self._head_bytes(status, reason, headers, len(data)) + data, record)

    def _garbage(self, record, status, reason, headers, data, size=4096, seed=12):
        rng = random.Random(seed + len(self.owner.log))
        junk = bytes(rng.getrandbits(8) for _ in range(size))
        self._send(200, "OK", [("content-type", "application/json; charset=UTF-8")], junk, record)

    def _truncate(self, record, status, reason, headers, data):
        head = self._head_bytes(status, reason, headers, len(data))
        self._write(head + data[:len(data) // 2], record)
        self.close_connection = True
        self.connection.shutdown(socket.SHUT_RDWR)

    def _rewrite_items(self, record, status, reason, headers, data, change):
        answer = json.loads(data)
        items = answer["items"]
        answer["items"] = change(items)
        kept = {item_id(i) for i in answer["items"]}
        record.unanswered = [item_id(i) for i in items if item_id(i) not in kept]
        self._send(status, reason, headers, json.dumps(answer).encode(), record)

    def _drop_items(self, record, status, reason, headers, data, drop=1):
        def change(items):
            return items[:max(0, len(items) - drop)]
        answer = json.loads(data)
        answer["errors"] = True
        self._rewrite_items(record, status, reason, headers, json.dumps(answer).encode(), change)

    def _permute(self, record, status, reason, headers, data):
        self._rewrite_items(record, status, reason, headers, data, lambda items: items[::-1])

    def _huge(self, record, status, reason, headers, data, size=GIB):
        """size bytes of a bulk answer that never ends, generated chunk by
        chunk: the proxy holds one chunk, never the body."""
        head = self._head_bytes(200, "OK", [("content-type", "application/json; charset=UTF-8")],
                                chunked=True)
        self._write(head, record)
        item = b'{"index":{"_id":"x","status":200},"_":"' + b"y" * 200 + b'"},'
        prefix = b'{"took":1,"errors":false,"items":['
        chunk = (prefix + item * (CHUNK // len(item)))[:CHUNK]
        left = size
        while left > 0:
            piece = chunk[:min(left, CHUNK)]
            self._write(b"%x\r\n" % len(piece) + piece + b"\r\n", record)
            left -= len(piece)
        self._write(b"0\r\n\r\n", record)

    def _slow(self, record, status, reason, headers, data, interval=1.0):
        answer = self._head_bytes(status, reason, headers, len(data)) + data
        for byte in answer:
            self._write(bytes([byte]), record)
            time.sleep(interval)
            # A client that hung up shows as EOF on its side of the socket.
            if _peer_closed(self.connection):
                record.hung_up = True
                self.close_connection = True
                return


def _peer_closed(sock):
    """True when the client closed its end (a read would give EOF now)."""
    try:
        sock.setblocking(False)
        try:
            return sock.recv(1, socket.MSG_PEEK) == b""
        finally:
            sock.setblocking(True)
    except BlockingIOError:
        return False
    except OSError:
        return True


FAULTS = {
    "garbage": _Handler._garbage,
    "truncate": _Handler._truncate,
    "drop_items": _Handler._drop_items,
    "permute": _Handler._permute,
    "huge": _Handler._huge,
    "slow": _Handler._slow,
    "hold": lambda handler, record, status, reason, headers, data, **_options:
        handler._send(status, reason, headers, data, record),
}
