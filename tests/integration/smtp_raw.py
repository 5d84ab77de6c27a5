#!/usr/bin/env python3
"""smtp_raw.py - a tiny raw-socket SMTP client for sekisho's integration tests.

It sends exactly the bytes it is told to (no line-ending fix-ups, no
dot-stuffing) and prints every reply line it receives, so a test can push
malformed or hostile input at a server and look at what came back.

    smtp_raw.py [--timeout SECONDS] HOST PORT ACTION...

Actions, run in order:
    read          read one complete reply (all lines of a multi-line reply)
    send:TEXT     send TEXT in one send(); backslash escapes are decoded
                  (\\r \\n \\t \\x00 \\\\ ...), everything else is sent as is
    frag:TEXT     like send, but one byte per send() with TCP_NODELAY and a
                  short pause between bytes, so the server sees many reads
    flood:N:TEXT  send TEXT (escapes decoded) N times, in large writes,
                  without reading any reply
    sleep:SECS    pause
    unlink:PATH   remove a file (e.g. a test's fault flag) mid-session
    drain         read replies until the server closes the connection

Output, one line each: ">>> " and the repr of what was sent, "<<< " and each
reply line, "# eof" when the server closed, "# timeout" when a read timed
out.  Exit status: 0 when every action ran, 2 on a timeout, 3 when the
server closed the connection before a "read" got its reply, 1 on a
connection error.
"""
import codecs
import os
import socket
import sys
import time


class Conn:
    def __init__(self, host, port, timeout):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        self.eof = False

    def _fill(self):
        data = self.sock.recv(65536)
        if not data:
            self.eof = True
            return False
        self.buf += data
        return True

    def line(self):
        """One reply line without its line ending, or None at EOF."""
        while b"\n" not in self.buf:
            if self.eof or not self._fill():
                if self.buf:
                    rest, self.buf = self.buf, b""
                    return rest
                return None
        ln, self.buf = self.buf.split(b"\n", 1)
        return ln.rstrip(b"\r")

    def reply(self):
        """All lines of one reply ("250-..." continues, "250 ..." ends)."""
        lines = []
        while True:
            ln = self.line()
            if ln is None:
                return lines, True
            lines.append(ln)
            if len(ln) < 4 or ln[3:4] != b"-":
                return lines, False


def out(prefix, data):
    sys.stdout.write(prefix + data + "\n")


def show(ln):
    return ln.decode("latin-1")


def main(argv):
    timeout = 20.0
    if len(argv) >= 2 and argv[0] == "--timeout":
        timeout = float(argv[1])
        argv = argv[2:]
    if len(argv) < 2:
        sys.stderr.write(__doc__)
        return 1
    host, port, actions = argv[0], int(argv[1]), argv[2:]
    try:
        c = Conn(host, port, timeout)
    except OSError as e:
        out("# ", "connect failed: %s" % e)
        return 1
    try:
        for a in actions:
            if a == "read":
                lines, eof = c.reply()
                for ln in lines:
                    out("<<< ", show(ln))
                if eof:
                    out("# ", "eof")
                    if not lines:
                        return 3
            elif a == "drain":
                while True:
                    ln = c.line()
                    if ln is None:
                        out("# ", "eof")
                        break
                    out("<<< ", show(ln))
            elif a.startswith("send:") or a.startswith("frag:"):
                data = codecs.escape_decode(a[5:].encode("latin-1"))[0]
                out(">>> ", repr(data)[2:-1])
                if a.startswith("send:"):
                    c.sock.sendall(data)
                else:
                    for i in range(len(data)):
                        c.sock.sendall(data[i:i + 1])
                        time.sleep(0.005)
            elif a.startswith("flood:"):
                count, text = a[6:].split(":", 1)
                count = int(count)
                data = codecs.escape_decode(text.encode("latin-1"))[0]
                out(">>> ", "%d x %s" % (count, repr(data)[2:-1]))
                per = max(1, 65536 // max(1, len(data)))
                while count > 0:
                    k = min(per, count)
                    c.sock.sendall(data * k)
                    count -= k
            elif a.startswith("sleep:"):
                time.sleep(float(a[6:]))
            elif a.startswith("unlink:"):
                os.unlink(a[7:])
                out("# ", "unlinked %s" % a[7:])
            else:
                out("# ", "unknown action %r" % a)
                return 1
    except socket.timeout:
        out("# ", "timeout")
        return 2
    except OSError as e:
        # the server may reset the connection after its last reply
        out("# ", "socket error: %s" % e)
    finally:
        c.sock.close()
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
