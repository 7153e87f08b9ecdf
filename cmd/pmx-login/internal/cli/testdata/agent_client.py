#!/usr/bin/env python3
"""A bot in another language: asks pmx-login agent for tokens over its Unix
socket and sends orders, with the Python standard library only.

  agent_client.py tokens SOCKET SECONDS INTERVAL EXCHANGE_URL HOST
      fetch a token every INTERVAL seconds for SECONDS seconds and send each
      to the exchange (insert_order); print a JSON summary: calls, failures
      (no token, or the exchange refused it) and the distinct tokens.
  agent_client.py orders PROXY_URL
      for each line on stdin, send one order through the agent's proxy and
      print its HTTP status.
"""
import http.client
import json
import socket
import sys
import time
import urllib.error
import urllib.request

ORDER = json.dumps({"symbol": "TEST-1", "side": "BUY", "quantity": 1, "price": "0.5"}).encode()


class UnixHTTPConnection(http.client.HTTPConnection):
    """HTTP over a Unix socket: what every bot needs to ask the agent."""

    def __init__(self, path, timeout=10):
        super().__init__("agent", timeout=timeout)
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.path)


def agent_token(path):
    conn = UnixHTTPConnection(path)
    try:
        conn.request("GET", "/v1/token")
        resp = conn.getresponse()
        body = json.loads(resp.read())
        if resp.status != 200:
            raise RuntimeError("agent: %d %s" % (resp.status, body.get("kind")))
        return body["token"], body["expiry"]
    finally:
        conn.close()


def send_order(exchange_url, host, token):
    req = urllib.request.Request(exchange_url + "/api/v1beta1/insert_order", data=ORDER, method="POST",
                                 headers={"Authorization": token, "Host": host, "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status
    except urllib.error.HTTPError as e:
        return e.code


def tokens(path, seconds, interval, exchange_url, host):
    calls, failures, seen, errors = 0, 0, [], []
    end = time.monotonic() + float(seconds)
    while time.monotonic() < end:
        calls += 1
        try:
            tok, _expiry = agent_token(path)
            status = send_order(exchange_url, host, tok)
            if status != 200:
                raise RuntimeError("exchange: %d" % status)
            if tok not in seen:
                seen.append(tok)
        except Exception as e:  # counted, never fatal: the test reads the summary
            failures += 1
            errors.append(str(e)[:200])
        time.sleep(float(interval))
    print(json.dumps({"calls": calls, "failures": failures, "distinct": len(seen), "errors": errors[:5]}))


def orders(proxy_url):
    for _line in sys.stdin:
        req = urllib.request.Request(proxy_url + "/api/v1beta1/insert_order", data=ORDER, method="POST",
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                status = resp.status
        except urllib.error.HTTPError as e:
            status = e.code
        print(status, flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "tokens":
        tokens(*sys.argv[2:7])
    elif sys.argv[1] == "orders":
        orders(sys.argv[2])
    else:
        sys.exit("unknown mode " + sys.argv[1])
