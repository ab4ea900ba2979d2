"""A real MQTT broker (mosquitto from the OS packages) on loopback, for bridge-mode tests.

``mosquitto_broker()`` writes a throwaway configuration (one loopback listener on a free
port, anonymous access, no persistence), runs mosquitto as a child process, waits until it
accepts connections and stops it on exit. Pass the address it yields to the MyQttHub
sandbox as ``options={"myqtthub": {"broker": address}}``.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Optional

from .ports import free_port, wait_for_port

__all__ = ["find_mosquitto", "mosquitto_broker"]


def find_mosquitto() -> Optional[str]:
    return shutil.which("mosquitto") or next(
        (p for p in ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto") if Path(p).exists()), None
    )


@contextmanager
def mosquitto_broker() -> Iterator[str]:
    """Run mosquitto on 127.0.0.1:<free port>; yields ``"127.0.0.1:<port>"``."""
    binary = find_mosquitto()
    if binary is None:
        raise RuntimeError("mosquitto is not installed (apt-get install mosquitto)")
    with tempfile.TemporaryDirectory(prefix="ferrolink-mosquitto-") as directory:
        port = free_port()
        config = Path(directory) / "mosquitto.conf"
        config.write_text(
            f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\nlog_dest none\n"
        )
        process = subprocess.Popen(
            [binary, "-c", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        try:
            wait_for_port(port, process=process)
            yield f"127.0.0.1:{port}"
        finally:
            process.terminate()
            try:
                process.wait(5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            if process.stderr is not None:
                process.stderr.close()
