"""A milvus-lite gRPC server process for tests (``python -m milvus_lite server``)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class MilvusServer:
    """A server to test against: ``uri``; ``data_dir`` and the process when started here."""

    uri: str
    data_dir: Path | None = None
    port: int = 0
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @classmethod
    def start(cls, data_dir: Path, port: int | None = None, timeout: float = 30.0) -> MilvusServer:
        port = port or free_port()
        args = [sys.executable, "-m", "milvus_lite", "server", "--data-dir", str(data_dir)]
        args += ["--host", "127.0.0.1", "--port", str(port)]
        proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        server = cls(uri=f"http://127.0.0.1:{port}", data_dir=data_dir, port=port, process=proc)
        server.wait_ready(timeout)
        return server

    def wait_ready(self, timeout: float) -> None:
        from pymilvus import MilvusClient

        from ttqa.index.milvus.backend import GRPC_OPTIONS

        deadline = time.monotonic() + timeout
        while True:
            if self.process is not None and self.process.poll() is not None:
                err = self.process.stderr.read().decode(errors="replace") if self.process.stderr else ""
                raise RuntimeError(f"milvus-lite server exited: {err[-2000:]}")
            try:
                client = MilvusClient(uri=self.uri, timeout=2, grpc_options=GRPC_OPTIONS)
                client.list_collections()
                client.close()
                return
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def restart(self) -> None:
        """Stop the server and start it again on the same data directory and port."""
        assert self.data_dir is not None, "only a server started here can be restarted"
        self.stop()
        fresh = MilvusServer.start(self.data_dir, self.port)
        self.process = fresh.process
