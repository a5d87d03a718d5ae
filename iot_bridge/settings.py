"""Command-line options of `python -m iot_bridge`, with MQTT_URL / DATABASE_URL as defaults."""
from __future__ import annotations

import argparse
import os
import socket
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from .decoders import RPC_SOURCE

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MQTT_URL = "mqtt://127.0.0.1:1883"


def default_database_url():
    """The web app's default (config.py) without importing it: SQLite under instance/."""
    instance = Path(os.environ.get("INSTANCE_PATH", ROOT / "instance"))
    return os.environ.get("DATABASE_URL") or f"sqlite:///{instance / 'platform.db'}"


@dataclass(frozen=True)
class Broker:
    host: str
    port: int
    username: str | None = None
    password: str | None = None


def parse_mqtt_url(url: str) -> Broker:
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "tcp") or not parts.hostname:
        raise ValueError(f"MQTT_URL 应形如 mqtt://主机:端口 / MQTT_URL must look like mqtt://host:port, got {url!r}")
    return Broker(parts.hostname, parts.port or 1883, parts.username, parts.password)


DESCRIPTION = """\
物联网桥接：把仪器终端经 MQTT 上报的状态和机时写入数据库（至少一次、幂等、批量提交），
并从数据库的指令队列发布电源联锁的插座指令。
IoT bridge: stores terminal status and machine time from MQTT in the database
(at-least-once, idempotent, batched commits). Topics (SPEC §5): instruments/<id>/status,
tele/<id>/SENSOR and tele/<id>/LWT (Tasmota), <id>/status/switch:0 (Shelly Gen2); and it
publishes the power interlock's plug commands from the database's outbox."""


def build_parser():
    p = argparse.ArgumentParser(prog="python -m iot_bridge", description=DESCRIPTION,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--mqtt-url", default=os.environ.get("MQTT_URL") or DEFAULT_MQTT_URL,
                   help="MQTT 代理地址（默认取环境变量 MQTT_URL，否则 %(default)s）/ "
                        "broker URL (default: $MQTT_URL, else %(default)s)")
    p.add_argument("--database-url", default=default_database_url(),
                   help="数据库地址（默认取 DATABASE_URL，否则 instance/ 下的 SQLite）/ "
                        "SQLAlchemy database URL (default: $DATABASE_URL, else SQLite under instance/)")
    p.add_argument("--client-id", default=f"iot-bridge-{socket.gethostname()}",
                   help="MQTT 客户端标识，持久会话按它保存未确认的消息 / "
                        "MQTT client id; the broker keeps the persistent session under it (default: %(default)s)")
    p.add_argument("--protocol", default="5", choices=("5", "3.1.1"),
                   help="MQTT 协议版本；3.1.1 用于只支持它的代理（如 make run 的内置代理）/ MQTT version; 3.1.1 "
                        "for brokers that only speak it, such as make run's embedded broker (default: %(default)s)")
    p.add_argument("--share-group", default="",
                   help="共享订阅组名：多个桥接实例用同一组名分担负载（$share/组名/…）/ "
                        "shared-subscription group: instances with the same group split the load ($share/GROUP/…)")
    p.add_argument("--batch-size", type=int, default=500,
                   help="每次提交最多的消息数 / most messages per database commit (default: %(default)s)")
    p.add_argument("--max-latency-ms", type=int, default=200,
                   help="消息最长等待提交的毫秒数 / longest a message waits for its commit, ms (default: %(default)s)")
    p.add_argument("--session-expiry", type=int, default=7 * 24 * 3600,
                   help="断线后代理保留会话和消息的秒数 / seconds the broker keeps the session and its "
                        "messages while the bridge is away (default: %(default)s)")
    p.add_argument("--receive-maximum", type=int, default=1000,
                   help="代理可同时发来的未确认消息数 / unacknowledged messages the broker may have in flight "
                        "to the bridge (MQTT 5 Receive Maximum; the broker's max_inflight_messages also caps it; "
                        "default: %(default)s)")
    p.add_argument("--max-backoff", type=float, default=30.0,
                   help="重连和数据库重试的最长间隔秒数 / cap of the reconnect and database-retry back-off, s "
                        "(default: %(default)s)")
    p.add_argument("--threshold-w", type=float, default=40.0,
                   help="新终端的功率阈值（瓦），高于它视为运行 / power threshold for new terminals, W: at or above "
                        "it a plug's instrument is running (default: %(default)s)")
    p.add_argument("--outbox-interval", type=float, default=1.0,
                   help="查看电源联锁待发指令的间隔秒数 / seconds between looks at the power interlock's command "
                        "outbox (default: %(default)s)")
    p.add_argument("--command-retry-s", type=int, default=int(os.environ.get("INTERLOCK_RETRY_SECONDS") or 30),
                   help="插座未确认的指令重发间隔秒数 / seconds before an unconfirmed plug command is published again "
                        "(default: $INTERLOCK_RETRY_SECONDS, else %(default)s)")
    p.add_argument("--command-attempts", type=int, default=int(os.environ.get("INTERLOCK_MAX_ATTEMPTS") or 20),
                   help="指令最多发送次数，之后标为未确认并通知实验室 / publications of a command before it is left "
                        "unconfirmed and the lab is told (default: $INTERLOCK_MAX_ATTEMPTS, else %(default)s)")
    p.add_argument("--rpc-source", default=RPC_SOURCE,
                   help="Shelly RPC 调用的 src，应答发到 <src>/rpc / the src of Shelly RPC calls; answers come on "
                        "<src>/rpc (default: %(default)s)")
    p.add_argument("--log-level", default=os.environ.get("LOG_LEVEL", "INFO"),
                   choices=("DEBUG", "INFO", "WARNING", "ERROR"),
                   help="日志级别（JSON 行输出到标准错误）/ log level; JSON lines on stderr (default: %(default)s)")
    return p


def parse(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        args.broker = parse_mqtt_url(args.mqtt_url)
    except ValueError as exc:
        parser.exit(2, f"{exc}\n")
    if (args.batch_size < 1 or args.max_latency_ms < 1 or args.receive_maximum < 1 or args.max_backoff <= 0
            or args.outbox_interval <= 0 or args.command_retry_s < 1 or args.command_attempts < 1):
        parser.exit(2, "批量、延迟、接收上限、退避、指令间隔和次数须为正数 / batch size, latency, receive maximum, "
                       "back-off and the command intervals and attempts must be positive\n")
    return args
