"""``sangjog serve`` keeps app-user keys out of request logs (they are passwords in the URL)."""

from __future__ import annotations

import logging

from sync_server.commands.serve import _RedactKeys, redact


def test_keys_are_masked_in_request_lines():
    line = "POST /key/Zk3_-q9aB/submission?deviceID=collect:1 HTTP/1.1"
    assert redact(line) == "POST /key/…/submission?deviceID=collect:1 HTTP/1.1"
    assert redact("GET /formList HTTP/1.1") == "GET /formList HTTP/1.1"


def test_werkzeug_log_records_are_masked():
    record = logging.LogRecord("werkzeug", logging.INFO, __file__, 1, '"%s" %s %s',
                               ("GET /key/secret-key/formList HTTP/1.1", "200", "-"), None)
    assert _RedactKeys().filter(record)
    assert record.getMessage() == '"GET /key/…/formList HTTP/1.1" 200 -'
