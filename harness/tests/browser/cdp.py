#!/usr/bin/env python3
"""A small headless-Chromium driver for keylab's browser tests, standard library only.

It speaks the Chrome DevTools Protocol over --remote-debugging-pipe: Chromium reads
commands from file descriptor 3 and writes answers and events to descriptor 4, each a JSON
object ended by a NUL byte. No websocket, no extra package.

    cdp.py [--chromium PATH] [--spki HASH] [--screenshot PNG] [--count SELECTOR]...
           [--focus SELECTOR --read SELECTOR] [--eval JS]... [--wait-ms N] URL

loads URL (https:// or file://), waits for the load event (and --wait-ms more), and prints
one JSON report on stdout:

    {"url", "title", "console_errors": [...], "requests": [{"url", "method"}],
     "responses": [{"url", "status", "protocol", "security": {...}}],
     "counts": {SELECTOR: N}, "focused": {"selector", "active", "read"},
     "evals": [value, ...], "screenshot": PATH}

"security" is Chromium's own view of the connection (protocol "TLS 1.3", keyExchangeGroup,
cipher). --spki HASH trusts one certificate key for this session only
(--ignore-certificate-errors-spki-list; it needs its own --user-data-dir, which is always
a fresh temporary directory here). Exits 2 when Chromium cannot be started or the page
does not load in time.
"""

import argparse
import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
import select
import time


class Browser:
    """One headless Chromium with one page, driven over the DevTools pipe."""

    def __init__(self, chromium, extra_flags=(), timeout=30.0):
        self.timeout = timeout
        self.profile = tempfile.mkdtemp(prefix="keylab-chromium-")
        cmd_r, self._cmd_w = os.pipe()
        self._resp_r, resp_w = os.pipe()
        flags = [
            chromium,
            "--headless",
            "--remote-debugging-pipe",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-default-apps",
            "--disable-sync",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--hide-scrollbars",
            "--window-size=1280,900",
            "--user-data-dir=" + self.profile,
        ]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            flags.append("--no-sandbox")  # Chromium refuses to run sandboxed as root.
        flags.extend(extra_flags)
        flags.append("about:blank")

        def wire_fds():
            # The child's descriptors 3 and 4 are the pipe ends; dup2 clears close-on-exec.
            high_r, high_w = os.dup(cmd_r), os.dup(resp_w)
            os.dup2(high_r, 3)
            os.dup2(high_w, 4)

        self.proc = subprocess.Popen(
            flags,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            preexec_fn=wire_fds,
            close_fds=False,
        )
        os.close(cmd_r)
        os.close(resp_w)
        self._buf = b""
        self._next_id = 0
        self.events = []
        self.session = None

    def close(self):
        try:
            self.send("Browser.close", timeout=5)
        except Exception:
            pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for fd in (self._cmd_w, self._resp_r):
            try:
                os.close(fd)
            except OSError:
                pass
        shutil.rmtree(self.profile, ignore_errors=True)

    def _read_message(self, deadline):
        while b"\0" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no answer from Chromium in time")
            ready, _, _ = select.select([self._resp_r], [], [], left)
            if not ready:
                continue
            chunk = os.read(self._resp_r, 1 << 20)
            if not chunk:
                err = self.proc.stderr.read().decode(errors="replace") if self.proc.stderr else ""
                raise RuntimeError("Chromium closed the DevTools pipe: " + err[-2000:])
            self._buf += chunk
        msg, self._buf = self._buf.split(b"\0", 1)
        return json.loads(msg)

    def send(self, method, params=None, session=True, timeout=None):
        """Sends one command and returns its result; events met meanwhile are kept."""
        self._next_id += 1
        msg = {"id": self._next_id, "method": method, "params": params or {}}
        if session and self.session:
            msg["sessionId"] = self.session
        os.write(self._cmd_w, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            answer = self._read_message(deadline)
            if answer.get("id") == self._next_id:
                if "error" in answer:
                    raise RuntimeError(f"{method}: {answer['error']}")
                return answer.get("result", {})
            if "method" in answer:
                self.events.append(answer)

    def wait_event(self, method, timeout=None):
        deadline = time.monotonic() + (timeout or self.timeout)
        seen = 0
        while True:
            for e in self.events[seen:]:
                if e.get("method") == method:
                    return e
            seen = len(self.events)
            answer = self._read_message(deadline)
            if "method" in answer:
                self.events.append(answer)

    def pump(self, seconds):
        """Collects events for a while (late console messages, requests)."""
        deadline = time.monotonic() + seconds
        try:
            while True:
                answer = self._read_message(deadline)
                if "method" in answer:
                    self.events.append(answer)
        except TimeoutError:
            pass

    def open_page(self):
        target = self.send("Target.createTarget", {"url": "about:blank"}, session=False)
        attached = self.send(
            "Target.attachToTarget",
            {"targetId": target["targetId"], "flatten": True},
            session=False,
        )
        self.session = attached["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.send(domain + ".enable")

    def navigate(self, url):
        result = self.send("Page.navigate", {"url": url})
        if result.get("errorText"):
            raise RuntimeError(f"navigation to {url} failed: {result['errorText']}")
        self.wait_event("Page.loadEventFired")

    def evaluate(self, expression):
        result = self.send(
            "Runtime.evaluate",
            {"expression": expression, "returnByValue": True, "awaitPromise": True},
        )
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result.get("result", {}).get("value")

    def screenshot(self, path):
        data = self.send("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": False})
        with open(path, "wb") as f:
            f.write(base64.b64decode(data["data"]))

    def console_errors(self):
        errors = []
        for e in self.events:
            m, p = e.get("method"), e.get("params", {})
            if m == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
                errors.append(" ".join(str(a.get("value", a.get("description", ""))) for a in p.get("args", [])))
            elif m == "Runtime.exceptionThrown":
                d = p.get("exceptionDetails", {})
                errors.append(d.get("exception", {}).get("description") or d.get("text", "exception"))
            elif m == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
                errors.append(p["entry"].get("text", ""))
        return errors

    def requests(self):
        return [
            {"url": e["params"]["request"]["url"], "method": e["params"]["request"]["method"]}
            for e in self.events
            if e.get("method") == "Network.requestWillBeSent"
        ]

    def responses(self):
        out = []
        for e in self.events:
            if e.get("method") != "Network.responseReceived":
                continue
            r = e["params"]["response"]
            out.append(
                {
                    "url": r.get("url"),
                    "status": r.get("status"),
                    "protocol": r.get("protocol"),
                    "security": r.get("securityDetails"),
                }
            )
        return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("url")
    ap.add_argument("--chromium", default=os.environ.get("CHROMIUM", "chromium"))
    ap.add_argument("--spki", help="trust a certificate key (base64 SHA-256 of its SPKI)")
    ap.add_argument("--screenshot", help="write a PNG of the page here")
    ap.add_argument("--count", action="append", default=[], help="count elements matching a CSS selector")
    ap.add_argument("--focus", help="focus the first element matching this selector")
    ap.add_argument("--read", help="after --focus, the text of the first element matching this selector")
    ap.add_argument("--eval", action="append", default=[], help="evaluate JavaScript (promises awaited)")
    ap.add_argument("--wait-ms", type=int, default=300, help="time to collect events after load")
    ap.add_argument("--timeout", type=float, default=30.0)
    args = ap.parse_args()

    flags = []
    if args.spki:
        flags.append("--ignore-certificate-errors-spki-list=" + args.spki)
    try:
        browser = Browser(args.chromium, flags, args.timeout)
    except OSError as e:
        print(f"cannot start {args.chromium}: {e}", file=sys.stderr)
        return 2
    try:
        browser.open_page()
        browser.navigate(args.url)
        browser.pump(args.wait_ms / 1000.0)
        report = {"url": args.url, "title": browser.evaluate("document.title")}
        report["counts"] = {
            sel: browser.evaluate(f"document.querySelectorAll({json.dumps(sel)}).length") for sel in args.count
        }
        if args.focus:
            js = (
                f"(() => {{ const e = document.querySelector({json.dumps(args.focus)}); if (!e) return null;"
                " e.focus(); return document.activeElement === e; })()"
            )
            active = browser.evaluate(js)
            browser.pump(0.1)
            read = None
            if args.read:
                read = browser.evaluate(
                    f"(() => {{ const e = document.querySelector({json.dumps(args.read)});"
                    " return e ? e.textContent : null; })()"
                )
            report["focused"] = {"selector": args.focus, "active": active, "read": read}
        report["evals"] = [browser.evaluate(js) for js in args.eval]
        if args.screenshot:
            browser.screenshot(args.screenshot)
            report["screenshot"] = args.screenshot
        browser.pump(0.1)
        report["console_errors"] = browser.console_errors()
        report["requests"] = browser.requests()
        report["responses"] = browser.responses()
    except (RuntimeError, TimeoutError, KeyError) as e:
        print(f"cdp: {e}", file=sys.stderr)
        return 2
    finally:
        browser.close()
    json.dump(report, sys.stdout)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
