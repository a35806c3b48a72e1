"""`grade.py lti push OUT --platform platform.json` against a local LTI 1.3 platform (tests/lti_platform.py).

The scores pushed are written here by hand, as the AGS spec shapes them (and, once, by a real bulk
run); what the platform must receive is those files, so every expectation comes from the test's own
data, and the platform verifies the token request and each score itself.
"""
from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from bench.classroom import reference_source
from helpers import run_cli
from lti_platform import SCORE_MEDIA_TYPE, SCORE_SCOPE, Platform
from nngrade.reports import lti_push
from nngrade.run import sandbox

SCORES = {
    "alice": {"userId": "alice", "scoreGiven": 20.0, "scoreMaximum": 20.0, "activityProgress": "Completed",
              "gradingProgress": "FullyGraded", "timestamp": "2026-12-01T12:08:35.321+00:00",
              "comment": "nngrade 20/20; 07: 20/20"},
    "bob": {"userId": "bob", "scoreGiven": 16.0, "scoreMaximum": 20.0, "activityProgress": "Completed",
            "gradingProgress": "FullyGraded", "timestamp": "2026-12-01T12:08:36.004+00:00",
            "comment": "nngrade 16/20; 07: 16/20"},
    "erin": {"userId": "erin", "activityProgress": "Initialized", "gradingProgress": "NotReady",
             "timestamp": "2026-12-01T12:08:36.100+00:00", "comment": "nngrade: nothing submitted yet; 07: no file"},
    "dave": {"userId": "dave", "activityProgress": "Completed", "gradingProgress": "Failed",
             "timestamp": "2026-12-01T12:08:36.200+00:00", "comment": "nngrade: not graded yet"},
}


def pem(key) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


@pytest.fixture(scope="module")
def tool_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def platform(tool_key):
    with Platform(tool_key.public_key()) as running:
        yield running


def graded_folder(root: Path, scores: dict = SCORES) -> Path:
    out = root / "graded"
    (out / "lti").mkdir(parents=True)
    for student, score in scores.items():
        (out / "lti" / f"{student}.json").write_text(json.dumps(score, indent=2))
    return out


def platform_file(root: Path, platform: Platform, key, **settings) -> Path:
    key_path = root / "keys" / "tool.pem"
    key_path.parent.mkdir(exist_ok=True)
    key_path.write_bytes(pem(key))
    key_path.chmod(0o600)
    config = {"client_id": "nngrade-tool", "token_url": platform.token_url, "lineitem": platform.lineitem("1"),
              "private_key": "keys/tool.pem", **settings}
    path = root / "platform.json"
    path.write_text(json.dumps({k: v for k, v in config.items() if v is not None}))
    return path


def push(out: Path, config: Path, *more: str, waits: list | None = None) -> int:
    """The command in this process, with the waits between retries recorded instead of slept."""
    client = lti_push.Client(sleep=(waits if waits is not None else []).append)
    return lti_push.main(["push", str(out), "--platform", str(config), *more], client=client)


def one_line_error(capsys) -> str:
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    return err


# --- sending -----------------------------------------------------------------------------------

def test_every_score_reaches_the_line_item_with_a_signed_token(tmp_path, platform, tool_key):
    out = graded_folder(tmp_path)
    config = platform_file(tmp_path, platform, tool_key, key_id="tool-2026",
                           lineitem=platform.lineitem("1", "type_id=3"))
    result = run_cli("lti", "push", str(out), "--platform", str(config))
    assert result.returncode == 0, result.stderr
    assert platform.errors == []
    assert platform.scores == {"1": [SCORES[s] for s in sorted(SCORES)]}      # as written, in file order
    assert platform.score_queries == ["type_id=3"] * len(SCORES)              # {lineitem}/scores keeps the query
    [claims] = platform.assertions                                            # one token for the whole push
    assert claims["iss"] == claims["sub"] == "nngrade-tool" and claims["aud"] == platform.token_url
    assert claims["header"] == {"alg": "RS256", "typ": "JWT", "kid": "tool-2026"}
    assert 0 < claims["exp"] - claims["iat"] <= 600
    assert "sent 4 scores" in result.stdout
    sent = [json.loads(line) for line in (out / "lti-sent.jsonl").read_text().splitlines()]
    assert sorted(entry["student"] for entry in sent) == sorted(SCORES)


def test_the_platform_checks_what_the_push_gets_right(tmp_path, platform, tool_key):
    """The stand-in platform is not a pushover: a wrong media type, a token without the score scope, an
    assertion signed by another key or replayed are refused by it."""
    import urllib.error
    import urllib.request
    from nngrade.reports.lti_push import Platform as Configured, assertion

    def post(url, body, headers):
        try:
            with urllib.request.urlopen(urllib.request.Request(url, body, headers, method="POST")) as answer:
                return answer.status
        except urllib.error.HTTPError as error:
            return error.code

    configured = Configured("nngrade-tool", platform.token_url, platform.lineitem(), tool_key, Path("k"))
    signed = assertion(configured)
    form = (f"grant_type=client_credentials&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type"
            f"%3Ajwt-bearer&scope={SCORE_SCOPE}&client_assertion=").encode()
    form_headers = {"Content-Type": "application/x-www-form-urlencoded"}
    assert post(platform.token_url, form + signed.encode(), form_headers) == 200
    assert post(platform.token_url, form + signed.encode(), form_headers) == 400            # the same jti again
    other = Configured("nngrade-tool", platform.token_url, platform.lineitem(),
                       rsa.generate_private_key(public_exponent=65537, key_size=2048), Path("k"))
    assert post(platform.token_url, form + assertion(other).encode(), form_headers) == 401
    token = next(iter(platform.tokens))
    score = json.dumps(SCORES["bob"]).encode()
    scores_url = platform.lineitem() + "/scores"
    assert post(scores_url, score, {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}) == 415
    assert post(scores_url, score, {"Content-Type": SCORE_MEDIA_TYPE, "Authorization": "Bearer forged"}) == 401
    bad = json.dumps({**SCORES["bob"], "scoreMaximum": 0}).encode()
    assert post(scores_url, bad, {"Content-Type": SCORE_MEDIA_TYPE, "Authorization": f"Bearer {token}"}) == 400
    assert post(scores_url, score, {"Content-Type": SCORE_MEDIA_TYPE, "Authorization": f"Bearer {token}"}) == 204


def test_a_dry_run_sends_nothing(tmp_path, platform, tool_key, capsys):
    out = graded_folder(tmp_path)
    assert push(out, platform_file(tmp_path, platform, tool_key), "--dry-run") == 0
    said = capsys.readouterr().out
    assert "4 to send" in said and "would send bob: 16/20 Completed/FullyGraded" in said
    assert "would send erin: Initialized/NotReady" in said and "nothing was sent" in said
    assert platform.requests == [] and not (out / "lti-sent.jsonl").exists()


def test_a_rerun_sends_only_what_changed(tmp_path, platform, tool_key, capsys):
    out = graded_folder(tmp_path)
    config = platform_file(tmp_path, platform, tool_key)
    assert push(out, config) == 0
    assert len(platform.scores["1"]) == 4
    before = len(platform.requests)
    assert push(out, config) == 0
    assert "0 to send, 4 sent before and unchanged" in capsys.readouterr().out
    assert len(platform.requests) == before            # not even a token
    # bulk rewrites every file on every run: a new timestamp alone is no new score
    (out / "lti" / "alice.json").write_text(json.dumps({**SCORES["alice"], "timestamp": "2026-12-02T09:00:00.000+00:00"}))
    regraded = {**SCORES["bob"], "scoreGiven": 18.0, "comment": "nngrade 18/20; 07: 18/20",
                "timestamp": "2026-12-02T09:00:00.500+00:00"}
    (out / "lti" / "bob.json").write_text(json.dumps(regraded))
    assert push(out, config) == 0
    assert platform.scores["1"][4:] == [regraded]
    # --all sends them all again
    assert push(out, config, "--all") == 0
    assert len(platform.scores["1"]) == 9
    # another line item has had nothing yet
    assert push(out, platform_file(tmp_path, platform, tool_key, lineitem=platform.lineitem("2"))) == 0
    assert len(platform.scores["2"]) == 4


def test_users_map_student_ids_to_the_platforms_user_ids(tmp_path, platform, tool_key, capsys):
    out = graded_folder(tmp_path)
    users = {"alice": "3f2a-alice", "bob": "77c1-bob", "erin": "9d0e-erin"}
    (tmp_path / "users.json").write_text(json.dumps(users))
    assert push(out, platform_file(tmp_path, platform, tool_key, users="users.json")) == 1    # dave is not in it
    assert "1 students have no LTI user id" in capsys.readouterr().err
    assert sorted(score["userId"] for score in platform.scores["1"]) == sorted(users.values())


# --- when the platform fails -------------------------------------------------------------------

def test_429_5xx_and_dropped_connections_are_tried_again_with_back_off(tmp_path, platform, tool_key, capsys):
    out = graded_folder(tmp_path)
    platform.faults = {"/auth/token": [503], "/api/lineitems/1/scores": [(429, "3"), "drop", 500]}
    waits = []
    assert push(out, platform_file(tmp_path, platform, tool_key), waits=waits) == 0
    # 1 s, doubled per attempt of the same request; a Retry-After is the platform's word
    assert waits == [1.0, 3.0, 2.0, 4.0]
    assert platform.scores["1"] == [SCORES[s] for s in sorted(SCORES)]     # each exactly once
    assert "4 requests tried again" in capsys.readouterr().out


def test_a_platform_that_keeps_failing_stops_the_push_and_a_rerun_finishes_it(tmp_path, platform, tool_key, capsys):
    out = graded_folder(tmp_path)
    config = platform_file(tmp_path, platform, tool_key)
    platform.faults = {"/api/lineitems/1/scores": [500] * 5}
    waits = []
    assert push(out, config, waits=waits) == 1
    said = one_line_error(capsys)
    assert "kept failing (HTTP 500" in said and "sent 0 of 4" in said
    assert waits == [1.0, 2.0, 4.0, 8.0]
    assert not (out / "lti-sent.jsonl").exists() and platform.scores == {}
    assert push(out, config) == 0 and len(platform.scores["1"]) == 4


def test_an_unreachable_platform_is_one_line(tmp_path, tool_key, capsys):
    with socket.socket() as probe:      # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    out = graded_folder(tmp_path)
    config = tmp_path / "platform.json"
    (tmp_path / "tool.pem").write_bytes(pem(tool_key))
    (tmp_path / "tool.pem").chmod(0o600)
    config.write_text(json.dumps({"client_id": "c", "token_url": f"http://127.0.0.1:{port}/token",
                                  "lineitem": f"http://127.0.0.1:{port}/li/1", "private_key": "tool.pem"}))
    waits = []
    assert push(out, config, waits=waits) == 1
    assert f"cannot reach the platform at http://127.0.0.1:{port} after 5 attempts" in one_line_error(capsys)
    assert len(waits) == 4 and not (out / "lti-sent.jsonl").exists()


def test_a_refused_token_is_one_line_and_sends_nothing(tmp_path, tool_key, capsys):
    out = graded_folder(tmp_path)
    registered = rsa.generate_private_key(public_exponent=65537, key_size=2048)    # not the tool's key
    with Platform(registered.public_key()) as other:
        assert push(out, platform_file(tmp_path, other, tool_key)) == 2
        said = one_line_error(capsys)
        assert "refused the token request (HTTP 401: invalid_client" in said and "check client_id" in said
        assert other.scores == {} and any("signature" in error for error in other.errors)
    with Platform(tool_key.public_key(), client_id="the-registered-one") as renamed:
        assert push(out, platform_file(tmp_path, renamed, tool_key)) == 2
        assert "invalid_client" in one_line_error(capsys)


def self_signed(folder: Path) -> tuple[str, str]:
    """A certificate for localhost, signed by its own key (what a test platform can have)."""
    import datetime
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import NameOID
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                   .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(hours=1))
                   .not_valid_after(now + datetime.timedelta(hours=1))
                   .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
                   .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                   .sign(key, hashes.SHA256()))
    (folder / "platform-cert.pem").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    (folder / "platform-key.pem").write_bytes(pem(key))
    return str(folder / "platform-cert.pem"), str(folder / "platform-key.pem")


def test_https_with_a_certificate_that_verifies_and_one_that_does_not(tmp_path, tool_key, capsys, monkeypatch):
    out = graded_folder(tmp_path)
    tls = self_signed(tmp_path)
    with Platform(tool_key.public_key(), tls=tls) as secure:
        assert secure.token_url.startswith("https://localhost:")
        config = platform_file(tmp_path, secure, tool_key)
        waits = []
        assert push(out, config, waits=waits) == 2           # not trusted: refused at once, never retried
        assert "does not verify" in one_line_error(capsys) and waits == [] and secure.scores == {}
        monkeypatch.setenv("SSL_CERT_FILE", tls[0])          # trusted, as a platform's real certificate is
        assert push(out, config) == 0
        assert len(secure.scores["1"]) == 4 and secure.errors == []


def test_an_expired_token_is_fetched_again(tmp_path, tool_key):
    out = graded_folder(tmp_path)
    with Platform(tool_key.public_key(), token_uses=2) as stingy:
        assert push(out, platform_file(tmp_path, stingy, tool_key)) == 0
        assert len(stingy.scores["1"]) == 4 and len(stingy.assertions) == 2
        assert len({claims["jti"] for claims in stingy.assertions}) == 2


def test_an_unknown_line_item_stops_with_the_reason(tmp_path, platform, tool_key, capsys):
    out = graded_folder(tmp_path)
    assert push(out, platform_file(tmp_path, platform, tool_key, lineitem=platform.lineitem("404"))) == 2
    assert "HTTP 404" in one_line_error(capsys) and platform.scores == {}


# --- bad input ---------------------------------------------------------------------------------

def test_a_bad_platform_file_is_one_line_naming_it(tmp_path, platform, tool_key, capsys):
    out = graded_folder(tmp_path)
    good = json.loads(platform_file(tmp_path, platform, tool_key).read_text())
    (tmp_path / "not-a-key.pem").write_text("-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----\n")
    (tmp_path / "ec.pem").write_bytes(pem(ec.generate_private_key(ec.SECP256R1())))
    cases = {"{not json": "not JSON", "[1]": "not a JSON object",
             json.dumps({k: v for k, v in good.items() if k != "lineitem"}): "'lineitem' is missing",
             json.dumps({**good, "lineItem": "x"}): "unknown key 'lineItem'",
             json.dumps({**good, "token_url": "ftp://lms/token"}): "not an http(s) URL",
             json.dumps({**good, "lineitem": "http://lms.example.edu/li/1"}): "must be https",
             json.dumps({**good, "private_key": "absent.pem"}): "No such file",
             json.dumps({**good, "private_key": "not-a-key.pem"}): "not a PEM private key",
             json.dumps({**good, "private_key": "ec.pem"}): "not an RSA key",
             json.dumps({**good, "users": ["alice"]}): "'users' must map"}
    config = tmp_path / "platform.json"
    for text, said in cases.items():
        config.write_text(text)
        assert push(out, config) == 2, text
        message = one_line_error(capsys)
        assert str(config) in message and said in message, (text, message)
    assert push(out, tmp_path / "absent.json") == 2
    assert "no such file" in one_line_error(capsys)
    assert platform.requests == []


def test_a_folder_without_valid_lti_scores_is_refused(tmp_path, platform, tool_key, capsys):
    config = platform_file(tmp_path, platform, tool_key)
    (tmp_path / "empty").mkdir()
    assert push(tmp_path / "empty", config) == 2
    assert "--formats lti" in one_line_error(capsys)
    out = graded_folder(tmp_path, {**SCORES, "bob": {**SCORES["bob"], "scoreGiven": "lots"}})
    assert push(out, config) == 2
    assert "bob.json: not an AGS score" in one_line_error(capsys)
    result = run_cli("lti", "send", str(out))
    assert result.returncode == 2 and "grade.py lti push OUT" in result.stderr
    assert platform.requests == []


# --- from a real bulk run ----------------------------------------------------------------------

def test_the_scores_bulk_writes_are_accepted_as_they_are(tmp_path, platform, tool_key):
    folder = tmp_path / "class"
    (folder / "alice").mkdir(parents=True)
    (folder / "alice" / "07_backpropagation.py").write_text(reference_source("07"))
    (folder / "erin").mkdir()
    level = sandbox.BUBBLEWRAP if sandbox.unavailable_reason() is None else sandbox.PROCESS
    out = tmp_path / "graded"
    graded = run_cli("bulk", str(folder), "--out", str(out), "--exercises", "07", "--seed", "4", "--formats", "lti",
                     "--quiet", "--isolation", level)
    assert graded.returncode == 0, graded.stderr
    result = run_cli("lti", "push", str(out), "--platform", str(platform_file(tmp_path, platform, tool_key)))
    assert result.returncode == 0, result.stderr
    assert platform.errors == []
    received = {score["userId"]: score for score in platform.scores["1"]}
    assert received["alice"]["scoreGiven"] == received["alice"]["scoreMaximum"] == 20
    assert received["erin"]["gradingProgress"] == "NotReady" and "scoreGiven" not in received["erin"]
    assert os.path.exists(out / "lti-sent.jsonl")
