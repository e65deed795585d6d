"""A small asyncio Redis (RESP2) client for the soak's publishers and chaos actions:
one connection, commands pipelined in order, replies matched in order. Errors inside a
reply come back as RespError values; a lost connection raises ConnectionError for every
command still waiting, so the caller knows which outcomes are unknown."""

import asyncio


class RespError(Exception):
    """An error reply (-ERR ...)."""


def encode(args):
    out = bytearray(b"*%d\r\n" % len(args))
    for a in args:
        if isinstance(a, str):
            a = a.encode()
        elif isinstance(a, int):
            a = str(a).encode()
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    return bytes(out)


class Resp:
    def __init__(self, reader, writer):
        self.reader = reader
        self.writer = writer

    @classmethod
    async def connect(cls, host, port, timeout=5.0):
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
        return cls(reader, writer)

    async def _value(self):
        line = await self.reader.readuntil(b"\r\n")
        kind, rest = line[:1], line[1:-2]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            return RespError(rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            if n < 0:
                return None
            data = await self.reader.readexactly(n + 2)
            return data[:-2]
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [await self._value() for _ in range(n)]
        raise ConnectionError(f"unexpected RESP reply {line[:80]!r}")

    async def pipeline(self, commands, timeout=10.0):
        """Sends every command in one write; returns the replies (errors as values).
        Raises ConnectionError (with .replies = the replies read so far) if the
        connection breaks or stays silent for `timeout`."""
        self.writer.write(b"".join(encode(c) for c in commands))
        replies = []
        try:
            async with asyncio.timeout(timeout):
                await self.writer.drain()
                for _ in commands:
                    replies.append(await self._value())
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError,
                TimeoutError, ConnectionError) as e:
            err = ConnectionError(f"redis connection lost: {e!r}")
            err.replies = replies
            self.close()
            raise err from None
        return replies

    async def cmd(self, *args, timeout=10.0):
        reply = (await self.pipeline([args], timeout))[0]
        if isinstance(reply, RespError):
            raise reply
        return reply

    def close(self):
        try:
            self.writer.close()
        except (OSError, RuntimeError):
            pass
