"""A lineage server for the tests of `zcap lineage --ol-url`: a real HTTP
server (python's http.server) in a thread of the test, on 127.0.0.1, that
stores the body of every POST it answered 2xx (once the answer is written)
and can be told to fail.

Faults, each for the next N requests (counted in arrival order):
  fail(n, status)  answer status (500, 401...) and store nothing;
  hang(n)          never answer: hold the request until the client gives
                   up and closes the connection, then drop it (a server
                   that aborts a request whose client went away), so a
                   timed-out POST is never also stored;
  require_key(k)   answer 401 to every request without "Bearer k".
stop() closes the listening socket (connections are refused) and the open
connections; start() listens again on the same port.
"""
import http.server
import json
import select
import socket
import threading
import time


class OLServer:
    def __init__(self, port):
        self.port = port
        self.lock = threading.Lock()
        self.stored = []     # (path, headers dict, body bytes) of what was taken
        self.requests = 0    # every request that arrived
        self.answered = {}   # status -> count of non-2xx answers
        self.abandoned = 0   # held until the client gave up
        self.faults = []     # [kind, n, status]
        self.key = None
        self.httpd = None
        self.conns = set()   # open connections, closed by stop() too

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def fail(self, n, status):
        with self.lock:
            self.faults.append(["fail", n, status])

    def hang(self, n):
        with self.lock:
            self.faults.append(["hang", n, 0])

    def require_key(self, key):
        self.key = key

    def events(self):
        with self.lock:
            return [json.loads(b) for _, _, b in self.stored]

    def _next_fault(self, auth):
        with self.lock:
            self.requests += 1
            if self.key is not None and auth != f"Bearer {self.key}":
                return ("fail", 401)
            if self.faults:
                f = self.faults[0]
                f[1] -= 1
                if f[1] == 0:
                    self.faults.pop(0)
                return (f[0], f[2])
            return None

    def start(self):
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def setup(self):
                super().setup()
                with server.lock:
                    server.conns.add(self.connection)

            def finish(self):
                with server.lock:
                    server.conns.discard(self.connection)
                super().finish()

            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(n)
                fault = server._next_fault(self.headers.get("Authorization"))
                if fault and fault[0] == "hang":
                    self._wait_client_gone()
                    with server.lock:
                        server.abandoned += 1
                    self.close_connection = True
                    return
                status = fault[1] if fault else 200
                reply = b"{}"
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)
                self.wfile.flush()
                # taken once the answer is on its way: a connection cut
                # before it (stop()) leaves the client to send it again
                with server.lock:
                    if status // 100 == 2:
                        server.stored.append((self.path, dict(self.headers.items()), body))
                    else:
                        server.answered[status] = server.answered.get(status, 0) + 1

            def _wait_client_gone(self):
                s = self.connection
                deadline = time.monotonic() + 120  # a client that never gives up
                while time.monotonic() < deadline:
                    r, _, _ = select.select([s], [], [], 0.5)
                    if r:
                        try:
                            if s.recv(1, socket.MSG_PEEK) == b"":
                                return
                        except OSError:
                            return

        class Server(http.server.ThreadingHTTPServer):
            allow_reuse_address = True
            daemon_threads = True

        self.httpd = Server(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def stop(self):
        """Down: no new connection is accepted, and the open ones (HTTP/1.1
        keep-alive) are cut, as when the server process goes away."""
        if self.httpd:
            self.httpd.shutdown()
            self.httpd.server_close()
            self.httpd = None
        with self.lock:
            for c in self.conns:
                try:
                    c.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            self.conns.clear()
