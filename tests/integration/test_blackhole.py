"""A PostgreSQL connection black-holed in the middle of the worker's life: a
TCP proxy the test controls sits between the worker and PostgreSQL and, on
command, stops forwarding: its sockets stay open and its kernel still
acknowledges every segment, but the bytes go nowhere.  A real server cannot
do that on purpose; a partition seen through a NAT or a stuck middlebox
can.

TCP_USER_TIMEOUT covers sent data left unacknowledged and keepalives cover
idle peers that stopped answering: both are satisfied by the proxy's
kernel, so libpq waits for its answer for ever.  The supervisor's watchdog
(hang_timeout_s) is what must notice.  The test asserts that the worker is
detected within the configured time by one mechanism or the other, says
which one fired, and that a change made meanwhile reaches the index once
the proxy forwards again."""
import socket
import threading
import time

from etlproc import TcpProxy, wait_until
from test_observability import scrape, synced_genres, value

HANG_TIMEOUT_S = 4
# Every blocking step below hang_timeout_s (the config check wants that);
# libpq's own timeouts as small as they go.
SETTINGS = {
    ("supervisor", "hang_timeout_s"): str(HANG_TIMEOUT_S),
    ("postgres", "connect_timeout_s"): "2",
    ("postgres", "statement_timeout_ms"): "3000",
    ("postgres", "keepalives_idle_s"): "1",
    ("postgres", "tcp_user_timeout_ms"): "1000",
    ("elasticsearch", "request_timeout_ms"): "3000",
}
# Detection may take hang_timeout_s past the worker's announced sleep (the
# poll interval), plus the supervisor's own tick and a loaded machine.
DETECT_SLACK_S = 4
CHUNK = 65536


class BlackHoleProxy(TcpProxy):
    """A TCP proxy to (host, port) on 127.0.0.1:self.port.  black_hole()
    makes it read and drop everything both ways on every connection, open
    or new; forward() closes the connections that lost bytes (their
    protocol streams are broken) and forwards again."""

    def __init__(self, host, port):
        super().__init__(host, port)
        self.forwarding = threading.Event()
        self.forwarding.set()
        self.pairs = []  # [client, server, lost_bytes]
        self.start()

    def pair(self, number, client, server):
        """A new client and its connection to the target, pumped both ways."""
        pair = [client, server, False]
        with self.lock:
            self.pairs.append(pair)
        threading.Thread(target=self._pump, args=(pair, client, server), daemon=True).start()
        threading.Thread(target=self._pump, args=(pair, server, client), daemon=True).start()

    def _pump(self, pair, src, dst):
        try:
            while True:
                data = src.recv(CHUNK)
                if not data:
                    break
                if self.forwarding.is_set() and not pair[2]:
                    dst.sendall(data)
                else:
                    pair[2] = True  # dropped: read, so the kernel keeps acknowledging
        except OSError:
            pass
        self._close_pair(pair)

    def _close_pair(self, pair):
        with self.lock:
            if pair in self.pairs:
                self.pairs.remove(pair)
        for sock in pair[:2]:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()

    def black_hole(self):
        self.forwarding.clear()

    def forward(self):
        with self.lock:
            broken = [p for p in self.pairs if p[2]]
        for pair in broken:
            self._close_pair(pair)
        self.forwarding.set()

    def close(self):
        self.listener.close()
        with self.lock:
            pairs = list(self.pairs)
        for pair in pairs:
            self._close_pair(pair)


def test_black_holed_postgres_connection_is_detected_and_recovered(tmp_path, pg, es, catalog,
                                                                   bin_dir):
    proxy = BlackHoleProxy(pg.host, pg.port)
    settings = dict(SETTINGS)
    settings[("postgres", "port")] = str(proxy.port)
    try:
        with synced_genres(tmp_path, pg, es, catalog, bin_dir, settings) as (stack, port, index, w):
            sup = stack.sup
            stuck = w["pid"]
            genre = stack.sql("SELECT id::text FROM content.genre ORDER BY id LIMIT 1")[0][0]
            proxy.black_hole()
            t0 = time.monotonic()
            # A change made while the worker cannot hear PostgreSQL.
            stack.sql("UPDATE content.genre SET name = 'Through the black hole' WHERE id = %s",
                      (genre,))

            # Detected: the watchdog's kill, or the worker's own libpq error
            # (a retry, or an exit) on the stuck connection.
            def detected():
                hung = sup.events("worker hung", child="genres")
                if hung:
                    return "watchdog", hung[0]
                mine = [e for e in sup.events("retry") if e.get("pid") == str(stuck)]
                if mine:
                    return "libpq", mine[0]
                exited = sup.events("worker exited", child="genres")
                if exited:
                    return "worker exit", exited[0]
                return None

            mechanism, event = wait_until(detected, timeout=HANG_TIMEOUT_S + DETECT_SLACK_S + 10,
                                          interval=0.1, what="the stuck worker noticed")
            took = time.monotonic() - t0
            print(f"\nblack-holed PostgreSQL: detected by {mechanism} after {took:.1f} s: {event}")
            assert took < HANG_TIMEOUT_S + DETECT_SLACK_S, (mechanism, took, event)
            if mechanism == "watchdog":
                assert int(event["child_pid"]) == stuck
                assert float(event["silent_s"]) >= HANG_TIMEOUT_S

            # While the hole lasts, the new worker's connections time out
            # (libpq's connect_timeout_s covers the whole start-up) and it
            # retries: it is not taken for hung again.
            def new_worker_retries():
                return [e for e in sup.events("retry", worker="genres", what="postgres")
                        if e.get("pid") != str(stuck)]
            wait_until(new_worker_retries, timeout=HANG_TIMEOUT_S + DETECT_SLACK_S,
                       what="the new worker's connect timing out")
            time.sleep(HANG_TIMEOUT_S)
            assert len(sup.events("worker hung")) <= 1
            assert stack.doc("genres", genre)["name"] != "Through the black hole"

            # Back: the change reaches the index.
            proxy.forward()
            wait_until(lambda: (stack.doc("genres", genre) or {}).get("name")
                       == "Through the black hole", timeout=60,
                       what="the change made during the black hole indexed")
            status = sup.status()["genres"]
            assert status["state"] == "running" and int(status["pid"]) != stuck
            if mechanism == "watchdog":
                assert value(scrape(port), "etl_worker_hangs_total", index=index) >= 1
    finally:
        proxy.close()
