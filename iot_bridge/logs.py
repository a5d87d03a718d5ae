"""JSON-line logs on stderr, one object per line, for the receiver and the storer alike
(each line is one write, so the two processes' lines never interleave)."""
import json
import logging
import sys

log = logging.getLogger("iot_bridge")


class JsonLines(logging.Formatter):
    """One JSON object per line: time, level, event and its fields."""

    def format(self, record):
        entry = {"ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"), "level": record.levelname, "event": record.getMessage()}
        entry.update(getattr(record, "fields", {}))
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info).splitlines()[-1]
        return json.dumps(entry, ensure_ascii=False, default=str)


def setup_logging(level):
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonLines())
    log.handlers[:] = [handler]
    log.setLevel(level)
    log.propagate = False


def emit(level, event, **fields):
    log.log(level, event, extra={"fields": fields})
