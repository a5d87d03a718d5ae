"""A real MQTT broker for the bridge tests: MQTT_URL when set (CI's Mosquitto), else a private
Mosquitto on a free port with deploy/mosquitto.conf's queue settings and its own persistence
directory (so a test can stop and restart it)."""
import getpass
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False


class PrivateMosquitto:
    """A Mosquitto process of our own: start, stop (SIGTERM, so it saves its sessions), restart."""

    def __init__(self, directory: Path):
        self.binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        self.directory = directory
        self.port = free_port()
        self.url = f"mqtt://127.0.0.1:{self.port}"
        conf = (ROOT / "deploy" / "mosquitto.conf").read_text()
        conf = conf.replace("listener 1883 127.0.0.1", f"listener {self.port} 127.0.0.1")
        conf = conf.replace("persistence_location /var/lib/mosquitto/", f"persistence_location {directory}/")
        # started as root, Mosquitto drops to the "mosquitto" user, which cannot write our directory
        conf += f"\nuser {getpass.getuser()}\n"
        self.conf = directory / "mosquitto.conf"
        self.conf.write_text(conf)
        self.process = None

    @staticmethod
    def available():
        return bool(shutil.which("mosquitto") or os.path.exists("/usr/sbin/mosquitto"))

    def start(self):
        self.process = subprocess.Popen([self.binary, "-c", str(self.conf)], stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
        if not wait_for_port(self.port):
            raise RuntimeError("mosquitto did not start")

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
        self.process = None


class TcpProxy:
    """A TCP relay to a database server that can be cut (every connection closed, new ones
    refused) and restored: a database outage as the bridge sees it, without stopping the
    server the rest of the suite uses."""

    def __init__(self, target_host, target_port):
        import threading

        self.target = (target_host, target_port)
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        self.up = True
        self.sockets = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        import threading

        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if not self.up:
                client.close()
                continue
            try:
                server = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.sockets += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source, sink):
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def cut(self):
        self.up = False
        with self.lock:
            for s in self.sockets:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()
            self.sockets.clear()

    def restore(self):
        self.up = True

    def close(self):
        self.cut()
        self.listener.close()
