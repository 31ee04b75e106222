"""SMS backends, chosen by SMS_BACKEND like Django's email backends."""

import base64
import json
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from couponsite import sms
from couponsite.sms.backends import SmsSendError


def test_console_backend_prints(settings, capsys):
    settings.SMS_BACKEND = "console"

    assert sms.send_sms(to="+14155550123", body="Your code is 123456") == 1

    out = capsys.readouterr().out
    assert "+14155550123" in out and "Your code is 123456" in out


def test_file_backend_writes_one_file_per_message(settings, tmp_path):
    settings.SMS_BACKEND = "file"
    settings.SMS_FILE_PATH = str(tmp_path / "sms")

    sms.send_sms(to="+14155550123", body="one")
    sms.send_sms(to="+14155550124", body="two")

    files = sorted((tmp_path / "sms").iterdir())
    assert len(files) == 2
    bodies = {json.loads(f.read_text())["body"] for f in files}
    assert bodies == {"one", "two"}


def test_dotted_path_backend(settings):
    settings.SMS_BACKEND = "couponsite.sms.backends.LocmemBackend"

    sms.send_sms(to="+14155550123", body="hi")

    assert [m.body for m in sms.outbox] == ["hi"]


class _FakeTwilio(BaseHTTPRequestHandler):
    requests: list = []
    status = 201

    def do_POST(self):
        length = int(self.headers["Content-Length"])
        _FakeTwilio.requests.append(
            {
                "path": self.path,
                "auth": self.headers["Authorization"],
                "form": urllib.parse.parse_qs(self.rfile.read(length).decode()),
            }
        )
        self.send_response(_FakeTwilio.status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"sid": "SM1"}')

    def log_message(self, *args):
        pass


@pytest.fixture
def twilio_server(settings):
    """A stand-in for the provider's HTTP API on loopback: the adapter's real HTTP path."""
    server = HTTPServer(("127.0.0.1", 0), _FakeTwilio)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _FakeTwilio.requests = []
    _FakeTwilio.status = 201
    settings.SMS_BACKEND = "twilio"
    settings.TWILIO_API_BASE = f"http://127.0.0.1:{server.server_address[1]}"
    settings.TWILIO_ACCOUNT_SID = "AC123"
    settings.TWILIO_AUTH_TOKEN = "secret"
    settings.TWILIO_FROM_NUMBER = "+14155550000"
    yield _FakeTwilio
    server.shutdown()


def test_twilio_backend_posts_the_message(twilio_server):
    sms.send_sms(to="+14155550123", body="Your code is 123456")

    [request] = twilio_server.requests
    assert request["path"] == "/2010-04-01/Accounts/AC123/Messages.json"
    assert request["auth"] == "Basic " + base64.b64encode(b"AC123:secret").decode()
    assert request["form"] == {
        "To": ["+14155550123"],
        "From": ["+14155550000"],
        "Body": ["Your code is 123456"],
    }


def test_twilio_error_is_raised(twilio_server):
    twilio_server.status = 400

    with pytest.raises(SmsSendError):
        sms.send_sms(to="+14155550123", body="x")


def test_twilio_needs_credentials(settings):
    from django.core.exceptions import ImproperlyConfigured

    settings.SMS_BACKEND = "twilio"
    settings.TWILIO_ACCOUNT_SID = ""

    with pytest.raises(ImproperlyConfigured):
        sms.send_sms(to="+14155550123", body="x")
