"""The portal server running inside another process, on loopback, in a background thread.

Used by the desktop app's `--demo` mode and by tests that need a real HTTP server::

    with EmbeddedServer(settings) as server:
        client = PortalClient(server.url)
"""

from __future__ import annotations

import socket
import threading
from types import TracebackType

import uvicorn

from srportal_desktop.server.app import create_app
from srportal_desktop.server.email import Mailer
from srportal_desktop.server.settings import ServerSettings


class EmbeddedServerError(RuntimeError):
    """The embedded server could not start."""


class _Server(uvicorn.Server):
    """A uvicorn server that says when startup is over, successful or not."""

    def __init__(self, config: uvicorn.Config, startup_done: threading.Event) -> None:
        super().__init__(config)
        self._startup_done = startup_done

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        try:
            await super().startup(sockets=sockets)
        finally:
            self._startup_done.set()


class EmbeddedServer:
    """uvicorn serving the portal app on `host` (loopback) in a daemon thread.

    `port=0` lets the OS pick a free port; `url` tells the one actually bound. With
    `links_to_itself`, the links the portal mails (invitations) point at that address.
    """

    def __init__(
        self,
        settings: ServerSettings,
        *,
        mailer: Mailer | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        links_to_itself: bool = False,
    ) -> None:
        self.settings = settings
        self._links_to_itself = links_to_itself
        self._mailer = mailer
        self._host = host
        self._port = port
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self._url: str | None = None

    @property
    def url(self) -> str:
        """`http://127.0.0.1:PORT` once started."""
        if self._url is None:
            raise EmbeddedServerError("the embedded server is not running")
        return self._url

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive() and self._url is not None

    def start(self, timeout: float = 10.0) -> str:
        """Start serving and return the base URL; raises EmbeddedServerError on failure."""
        if self._thread is not None:
            raise EmbeddedServerError("the embedded server was already started")
        try:
            # Bound here, not by uvicorn: a busy port is a clear error now, and port 0 gives
            # the real port straight away.
            listener = socket.create_server(
                (self._host, self._port),
                family=socket.AF_INET6 if ":" in self._host else socket.AF_INET,
            )
        except OSError as exc:
            raise EmbeddedServerError(f"cannot listen on {self._host}:{self._port}: {exc}") from exc
        host = f"[{self._host}]" if ":" in self._host else self._host
        url = f"http://{host}:{listener.getsockname()[1]}"
        if self._links_to_itself:
            self.settings = self.settings.model_copy(update={"public_url": url})
        try:
            app = create_app(self.settings, mailer=self._mailer)
        except Exception as exc:
            listener.close()
            raise EmbeddedServerError(f"the portal app could not be created: {exc}") from exc

        config = uvicorn.Config(
            app,
            host=self._host,
            port=self._port,
            log_level="warning",
            log_config=None,  # leave the host application's logging alone
            access_log=False,
            lifespan="on",
            timeout_graceful_shutdown=5,
        )

        startup_done = threading.Event()
        self._server = _Server(config, startup_done)
        self._thread = threading.Thread(
            target=self._run,
            args=(listener, startup_done),
            name="srportal-embedded-server",
            daemon=True,
        )
        self._thread.start()

        if not startup_done.wait(timeout):
            self.stop()
            raise EmbeddedServerError(f"the embedded server did not start within {timeout} s")
        if not self._server.started:
            self._thread.join(timeout)
            self._thread = self._server = None
            raise EmbeddedServerError(
                f"the embedded server failed to start: {self._error!r}"
            ) from self._error

        self._url = url
        return self._url

    def _run(self, listener: socket.socket, startup_done: threading.Event) -> None:
        assert self._server is not None
        try:
            # uvicorn makes a fresh event loop for this thread; signals stay with the main one.
            self._server.run(sockets=[listener])
        except BaseException as exc:  # uvicorn exits with SystemExit when startup fails
            self._error = exc
        finally:
            listener.close()
            startup_done.set()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop serving (graceful, then forced) and wait for the thread; safe to call twice."""
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        server.should_exit = True
        thread.join(timeout)
        if thread.is_alive():
            server.force_exit = True
            thread.join(timeout)
        self._thread = None
        self._url = None

    def __enter__(self) -> EmbeddedServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
