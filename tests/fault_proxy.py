#!/usr/bin/env python3
"""A fault-injecting HTTP proxy between a registry client and a real registry.

Listens on 127.0.0.1 at a port the kernel picks (written to --port-file),
forwards every request to --upstream HOST:PORT over plain HTTP, rewrites
Location headers so upload sessions keep going through the proxy, and logs
one line per request to --log:

    METHOD PATH STATUS FAULT RANGE      (PATH without query; "-" for none)

STATUS is what the client got ("000" when the connection was cut before any
status line).

Faults come from rules, given with --rule or one a line in --rules FILE
(re-read whenever it changes; every rule's counter restarts then):

    METHOD PATH_REGEX WHICH ACTION [retry-after=S]

  METHOD      GET, HEAD, PUT, PATCH, POST, DELETE or * for any
  PATH_REGEX  searched in the path (without query)
  WHICH       which matching requests get the fault, counted from 1 per rule:
              N | N-M | N- | * | a comma list of those
  ACTION      status=CODE     answer CODE without asking the registry
                              (retry-after=S adds a Retry-After header)
              stall=S         forward, then wait S seconds before answering
              stall-mid=S     send half the body, wait S seconds, send the rest
              truncate=N|P%   announce the full Content-Length, send N bytes
                              (or P% of the body), then close (FIN)
              drop=N|P%       the same, but reset the connection (RST)
              short=N|P%      announce and send only N bytes, keep the
                              connection: a "complete" but short answer
              drop-upload=N|P%  forward the request head and N bytes of the
                              request body to the registry, then reset both
                              connections
              reset           reset the connection without forwarding

Only python3's standard library; plain HTTP only.
"""
import argparse
import http.client
import os
import re
import shlex
import socket
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

COPY_CHUNK = 64 * 1024
ACTIONS = ("status", "stall", "stall-mid", "truncate", "drop", "short", "drop-upload", "reset")


class Rule:
    def __init__(self, text):
        fields = shlex.split(text)
        if len(fields) < 4:
            raise ValueError("rule needs METHOD PATH_REGEX WHICH ACTION: %r" % text)
        self.text = text
        self.method = fields[0].upper()
        self.path = re.compile(fields[1])
        self.which = self._parse_which(fields[2])
        self.action = None
        self.arg = None
        self.retry_after = None
        for f in fields[3:]:
            key, _, value = f.partition("=")
            if key == "retry-after":
                self.retry_after = value
            elif key in ACTIONS and self.action is None:
                self.action, self.arg = key, value
            else:
                raise ValueError("unknown or repeated action %r in %r" % (f, text))
        if self.action is None:
            raise ValueError("rule without an action: %r" % text)
        self.count = 0

    @staticmethod
    def _parse_which(spec):
        parts = []
        for p in spec.split(","):
            if p == "*":
                parts.append((1, None))
            elif p.endswith("-"):
                parts.append((int(p[:-1]), None))
            elif "-" in p:
                a, b = p.split("-")
                parts.append((int(a), int(b)))
            else:
                parts.append((int(p), int(p)))
        return parts

    def matches(self, method, path):
        return (self.method in ("*", method)) and self.path.search(path) is not None

    def selects(self, n):
        return any(n >= a and (b is None or n <= b) for a, b in self.which)

    def label(self):
        return self.action + ("=" + self.arg if self.arg else "")


def amount(spec, total):
    """N bytes, or P% of total (total None: unknown, treated as 0)."""
    if spec.endswith("%"):
        return int((total or 0) * float(spec[:-1]) / 100)
    return int(spec)


class Rules:
    def __init__(self, fixed, path):
        self.fixed = [Rule(r) for r in fixed]
        self.path = path
        self.stamp = None
        self.from_file = []
        self.lock = threading.Lock()

    def _reload(self):
        if not self.path:
            return
        try:
            st = os.stat(self.path)
            stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
        except FileNotFoundError:
            stamp = None
        if stamp == self.stamp:
            return
        self.stamp = stamp
        rules = []
        if stamp is not None:
            with open(self.path) as f:
                for line in f:
                    line = line.strip()
                    if line and not line.startswith("#"):
                        rules.append(Rule(line))
        self.from_file = rules
        for r in self.fixed:
            r.count = 0

    def pick(self, method, path):
        """The rule whose fault applies to this request, or None. Every
        matching rule counts the request."""
        with self.lock:
            self._reload()
            chosen = None
            for r in self.fixed + self.from_file:
                if r.matches(method, path):
                    r.count += 1
                    if chosen is None and r.selects(r.count):
                        chosen = r
            return chosen


class Logger:
    def __init__(self, path):
        self.path = path
        self.lock = threading.Lock()

    def write(self, line):
        if not self.path:
            return
        with self.lock:
            # Opened per line with O_APPEND so a test may truncate the file
            # between cases.
            with open(self.path, "a") as f:
                f.write(line + "\n")


def hard_close(sock):
    """Close with an RST rather than a FIN: a connection that died."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    try:
        sock.close()
    except OSError:
        pass


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fault-proxy"

    def log_message(self, fmt, *args):  # quiet: our own log says enough
        pass

    def __getattr__(self, name):
        if name.startswith("do_"):
            return self.proxy
        raise AttributeError(name)

    # -- request side ------------------------------------------------------
    def body_length(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return None
        return int(self.headers.get("Content-Length") or 0)

    def read_chunked(self):
        out = bytearray()
        while True:
            size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                return bytes(out)
            out += self.rfile.read(size)
            self.rfile.readline()

    def request_body_pieces(self, limit=None):
        """Yields the request body in pieces, at most `limit` bytes."""
        n = self.body_length()
        if n is None:
            body = self.read_chunked()
            yield body if limit is None else body[:limit]
            return
        if limit is not None:
            n = min(n, limit)
        while n > 0:
            piece = self.rfile.read(min(COPY_CHUNK, n))
            if not piece:
                return
            n -= len(piece)
            yield piece

    # -- the proxy ---------------------------------------------------------
    def proxy(self):
        path = self.path.split("?", 1)[0]
        rule = self.server.rules.pick(self.command, path)
        fault = rule.label() if rule else "-"
        self.status_sent = "000"
        try:
            self.serve(rule)
        except (ConnectionError, BrokenPipeError, socket.timeout, OSError):
            self.close_connection = True
        finally:
            rng = self.headers.get("Range", "-").replace(" ", "")
            self.server.log.write("%s %s %s %s %s" % (self.command, path, self.status_sent, fault, rng))

    def send_head(self, status, headers):
        lines = ["HTTP/1.1 %d %s" % (status, http.client.responses.get(status, ""))]
        lines += ["%s: %s" % (k, v) for k, v in headers]
        self.wfile.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        self.status_sent = str(status)

    def serve(self, rule):
        action = rule.action if rule else None
        if action == "reset":
            hard_close(self.connection)
            self.close_connection = True
            return
        if action == "status":
            for _ in self.request_body_pieces():
                pass
            code = int(rule.arg)
            body = b'{"errors":[{"code":"UNKNOWN","message":"fault injected by the test proxy"}]}'
            headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
            if rule.retry_after is not None:
                headers.append(("Retry-After", rule.retry_after))
            self.send_head(code, headers)
            if self.command != "HEAD":
                self.wfile.write(body)
            self.wfile.flush()
            return

        up = socket.create_connection(self.server.upstream, timeout=120)
        try:
            self.forward_request(up, rule)
            if action == "drop-upload":
                hard_close(up)
                hard_close(self.connection)
                self.close_connection = True
                return
            resp = http.client.HTTPResponse(up, method=self.command)
            resp.begin()
            self.forward_response(resp, rule)
        finally:
            up.close()

    def forward_request(self, up, rule):
        n = self.body_length()
        limit = None
        if rule and rule.action == "drop-upload":
            limit = amount(rule.arg, n)
        lines = ["%s %s HTTP/1.1" % (self.command, self.path)]
        chunked = n is None
        for k, v in self.headers.items():
            if k.lower() in ("connection", "keep-alive", "proxy-connection", "transfer-encoding", "content-length"):
                continue
            lines.append("%s: %s" % (k, v))
        body = None
        if chunked:
            body = self.read_chunked()
            n = len(body)
        lines.append("Content-Length: %d" % n)
        lines.append("Connection: close")
        up.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        if body is not None:
            up.sendall(body if limit is None else body[:limit])
            return
        for piece in self.request_body_pieces(limit):
            up.sendall(piece)

    def rewrite_location(self, value):
        host, port = self.server.upstream
        ours = "http://%s:%d" % self.server.server_address[:2]
        for theirs in ("http://%s:%d" % (host, port), "http://localhost:%d" % port):
            if value.startswith(theirs):
                return ours + value[len(theirs):]
        return value

    def forward_response(self, resp, rule):
        action = rule.action if rule else None
        headers = []
        for k, v in resp.getheaders():
            lk = k.lower()
            if lk in ("connection", "keep-alive", "transfer-encoding", "content-length"):
                continue
            if lk == "location":
                v = self.rewrite_location(v)
            headers.append((k, v))
        if self.command == "HEAD":
            length = resp.getheader("Content-Length")
            if length is not None:
                headers.append(("Content-Length", length))
            if action in ("stall", "stall-mid"):
                time.sleep(float(rule.arg))
            self.send_head(resp.status, headers)
            self.wfile.flush()
            return
        if resp.length is None:  # chunked or close-delimited: buffer it
            data = resp.read()
            total = len(data)
            source = iter([data])
        else:
            total = resp.length
            source = iter(lambda: resp.read(COPY_CHUNK), b"")

        if action == "stall":
            time.sleep(float(rule.arg))
        send_limit = None
        announced = total
        if action in ("truncate", "drop"):
            send_limit = min(amount(rule.arg, total), max(total - 1, 0))
        elif action == "short":
            send_limit = min(amount(rule.arg, total), total)
            announced = send_limit
        stall_at = total // 2 if action == "stall-mid" else None

        headers.append(("Content-Length", str(announced)))
        self.send_head(resp.status, headers)
        sent = 0
        for piece in source:
            if stall_at is not None and sent + len(piece) > stall_at:
                cut = stall_at - sent
                self.wfile.write(piece[:cut])
                self.wfile.flush()
                time.sleep(float(rule.arg))
                piece = piece[cut:]
                sent += cut
                stall_at = None
            if send_limit is not None and sent + len(piece) >= send_limit:
                self.wfile.write(piece[: send_limit - sent])
                sent = send_limit
                break
            self.wfile.write(piece)
            sent += len(piece)
        self.wfile.flush()
        if action in ("truncate", "drop"):
            self.close_connection = True
            if action == "drop":
                hard_close(self.connection)
            else:
                self.connection.shutdown(socket.SHUT_WR)


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--upstream", required=True, help="HOST:PORT of the registry")
    p.add_argument("--port-file", required=True, help="written with the port once listening")
    p.add_argument("--log", help="one line per request")
    p.add_argument("--rules", help="a file of rules, re-read when it changes")
    p.add_argument("--rule", action="append", default=[], help="a rule (repeatable)")
    a = p.parse_args()
    host, _, port = a.upstream.rpartition(":")
    server = Server(("127.0.0.1", 0), Handler)
    server.upstream = (host, int(port))
    server.rules = Rules(a.rule, a.rules)
    server.log = Logger(a.log)
    tmp = a.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % server.server_address[1])
    os.rename(tmp, a.port_file)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
