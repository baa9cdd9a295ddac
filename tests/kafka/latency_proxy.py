"""A loopback TCP proxy that delays what the upstream sends back, in the spirit of toxiproxy's
latency toxic: it forwards every byte to the REAL upstream and back, and only holds the
upstream's bytes for `latency_s` before passing them on. It is a fault injector, not a stand-in.

    proxy = LatencyProxy("127.0.0.1", predictor.http_port).start()
    proxy.latency_s = 4.0          # every response from now on arrives 4 s late
    ...
    proxy.stop()

It runs its own event loop on a daemon thread; `latency_s` may be changed at any time (a chunk
is delayed by the latency in force when it arrived).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time

CHUNK_BYTES = 64 * 1024


class LatencyProxy:
    def __init__(self, upstream_host: str, upstream_port: int, latency_s: float = 0.0) -> None:
        self.upstream_host = upstream_host
        self.upstream_port = upstream_port
        self.latency_s = latency_s
        self.port = 0
        self.connections = 0
        self.delayed_chunks = 0  # upstream chunks held back by a non-zero latency
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="latency-proxy",
                                        daemon=True)
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task] = set()

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> LatencyProxy:
        self._thread.start()
        self._server = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._serve, "127.0.0.1", 0), self._loop
        ).result(10)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def stop(self) -> None:
        if not self._thread.is_alive():
            return
        asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    async def _shutdown(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _serve(self, client_reader: asyncio.StreamReader,
                     client_writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self.connections += 1
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(
                self.upstream_host, self.upstream_port
            )
        except OSError:
            client_writer.close()  # a refused upstream closes the client's connection
            self._tasks.discard(task)
            return
        pipes = [
            asyncio.create_task(self._pipe(client_reader, upstream_writer, delayed=False)),
            asyncio.create_task(self._pipe(upstream_reader, client_writer, delayed=True)),
        ]
        try:
            # both directions until EOF; a reset on either side ends the connection
            await asyncio.wait(pipes, return_when=asyncio.FIRST_EXCEPTION)
        except asyncio.CancelledError:
            pass  # the proxy is stopping; ending quietly keeps asyncio's server callback silent
        finally:
            for pipe in pipes:
                pipe.cancel()
            await asyncio.gather(*pipes, return_exceptions=True)
            client_writer.close()
            upstream_writer.close()
            self._tasks.discard(task)

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                    delayed: bool) -> None:
        """Copy until EOF; on the delayed side each chunk leaves `latency_s` after it arrived
        (chunks keep their order and are not delayed cumulatively)."""
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

        async def forward() -> None:
            while True:
                due, data = await queue.get()
                if not data:
                    break
                wait = due - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                writer.write(data)
                await writer.drain()
            with contextlib.suppress(OSError):
                if writer.can_write_eof():
                    writer.write_eof()

        forwarder = asyncio.create_task(forward())
        try:
            while True:
                data = await reader.read(CHUNK_BYTES)
                latency = self.latency_s if delayed else 0.0
                if data and latency > 0:
                    self.delayed_chunks += 1
                queue.put_nowait((time.monotonic() + latency, data))
                if not data:
                    break
            await forwarder
        finally:
            forwarder.cancel()
