"""Raw-socket HTTP/1.1 pieces the soak needs on asyncio: loopback sockets bound to a
spread of source addresses (so thousands of reconnects never run out of ephemeral ports),
request bytes, response-head parsing, and a one-shot GET for readiness, reloads and
metrics."""

import asyncio
import socket

HOST = "127.0.0.1"
IP_BIND_ADDRESS_NO_PORT = getattr(socket, "IP_BIND_ADDRESS_NO_PORT", 24)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def source_ip(i):
    """127.0.0.2 .. 127.0.0.254 in turn: each source address has its own port range."""
    return f"127.0.0.{2 + i % 253}"


async def connect(port, src=None, timeout=5.0):
    """An open (reader, writer) to 127.0.0.1:port from source address src."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setblocking(False)
        if src:
            sock.setsockopt(socket.IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, 1)
            sock.bind((src, 0))
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(timeout):
            await loop.sock_connect(sock, (HOST, port))
    except BaseException:
        sock.close()
        raise
    return await asyncio.open_connection(sock=sock, limit=1 << 20)


def request(method, path, port, headers=None, keep_alive=False):
    lines = [f"{method} {path} HTTP/1.1", f"Host: {HOST}:{port}"]
    for k, v in (headers or {}).items():
        lines.append(f"{k}: {v}")
    if not keep_alive:
        lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def parse_head(head):
    """(status, {lower-case name: value}) from the bytes up to and including CRLFCRLF."""
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1."):
        raise ConnectionError(f"bad status line {lines[0]!r}")
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            headers[k.strip().lower()] = v.strip()
    return int(parts[1]), headers


async def read_head(reader):
    return parse_head(await reader.readuntil(b"\r\n\r\n"))


async def read_body(reader, status, headers):
    """The body of a non-streaming answer (Content-Length, chunked, or up to EOF)."""
    if status in (204, 304) or 100 <= status < 200:
        return b""
    if "content-length" in headers:
        return await reader.readexactly(int(headers["content-length"]))
    if headers.get("transfer-encoding", "").lower() == "chunked":
        out = bytearray()
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            chunk = await reader.readexactly(size + 2)
            if size == 0:
                return bytes(out)
            out += chunk[:-2]
    return await reader.read()


async def get(port, path, timeout=5.0, headers=None):
    """One GET on a fresh connection: (status, headers, body)."""
    reader, writer = await connect(port, timeout=timeout)
    try:
        async with asyncio.timeout(timeout):
            writer.write(request("GET", path, port, headers))
            status, hdrs = await read_head(reader)
            body = await read_body(reader, status, hdrs)
            return status, hdrs, body
    finally:
        writer.close()


async def status_of(port, path, timeout=3.0):
    """The status of a GET, or None if the connection failed."""
    try:
        return (await get(port, path, timeout))[0]
    except (OSError, ConnectionError, TimeoutError, asyncio.IncompleteReadError):
        return None
