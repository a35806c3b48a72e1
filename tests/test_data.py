"""Tests of nngrade.data with the lesson's declared data set (graders/lesson.py): validation, the lesson's
data preparation, the synthetic sample and the download."""

from __future__ import annotations

import functools
import hashlib
import http.server
import os
import statistics
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nngrade import data
from nngrade.data import DataError, load as load_admissions

import lesson
from lesson import prepare

REAL_PATH = Path(__file__).resolve().parents[2] / "shared" / "data" / "binary.csv"
VALID_ROWS = ["admit,gre,gpa,rank"] + [f"{i % 2},{400 + 20 * i},{3.0 + i / 100:.2f},{i % 4 + 1}" for i in range(12)]


def real_path() -> Path:
    if not REAL_PATH.exists():
        pytest.skip(f"the real admissions file {REAL_PATH} is not available")
    return REAL_PATH


def lesson_split(path: Path, seed: int) -> tuple[pd.DataFrame, pd.Series, pd.DataFrame, pd.Series]:
    """The lesson's data preparation, written with current pandas as the course did it."""
    admissions = pd.read_csv(path)
    frame = pd.concat([admissions, pd.get_dummies(admissions["rank"], prefix="rank", dtype=float)], axis=1)
    frame = frame.drop("rank", axis=1)
    for field in ["gre", "gpa"]:
        mean, std = frame[field].mean(), frame[field].std()
        frame[field] = (frame[field] - mean) / std
    np.random.seed(seed)
    sample = np.random.choice(frame.index, size=int(len(frame) * 0.9), replace=False)
    train, test = frame.loc[sample], frame.drop(sample)
    return train.drop("admit", axis=1), train["admit"], test.drop("admit", axis=1), test["admit"]


@pytest.mark.parametrize("seed", [42, 21])
@pytest.mark.parametrize("which", ["real", "sample"])
def test_prepare_matches_the_lessons_pandas_code(which: str, seed: int) -> None:
    path = real_path() if which == "real" else data.sample_path()
    features, targets, features_test, targets_test = lesson_split(path, seed)
    split = prepare(load_admissions(path), seed)
    assert list(features.columns) == list(lesson.FEATURES)
    assert split.features.shape == (360, 6) and split.features_test.shape == (40, 6)
    assert split.features.dtype == np.float64 and split.targets.dtype == np.float64
    # Equal to the last bit here; the tolerance only allows for pandas using bottleneck's std where installed.
    np.testing.assert_allclose(split.features, features.to_numpy(dtype=float), rtol=0, atol=1e-12)
    np.testing.assert_array_equal(split.targets, targets.to_numpy(dtype=float))
    np.testing.assert_allclose(split.features_test, features_test.to_numpy(dtype=float), rtol=0, atol=1e-12)
    np.testing.assert_array_equal(split.targets_test, targets_test.to_numpy(dtype=float))


def test_real_file_is_recognised() -> None:
    loaded = load_admissions(real_path())
    assert (loaded.source, loaded.sha256, len(loaded)) == ("real", lesson.ADMISSIONS.sha256, 400)
    assert loaded.admit.dtype == np.int64 and loaded.rank.dtype == np.int64 and loaded.gpa.dtype == np.float64
    assert (loaded.admit[:3].tolist(), loaded.gre[:3].tolist(), loaded.gpa[:3].tolist(), loaded.rank[:3].tolist()) == (
        [0, 1, 1], [380.0, 660.0, 800.0], [3.61, 3.67, 4.0], [3, 3, 1])


@pytest.mark.parametrize("seed", [42, 21, 0])
@pytest.mark.parametrize("n", [400, 37])
def test_randomstate_choice_is_the_seeded_global_stream(seed: int, n: int) -> None:
    saved = np.random.get_state()
    try:
        np.random.seed(seed)
        expected = np.random.choice(pd.RangeIndex(n), size=int(n * 0.9), replace=False)
    finally:
        np.random.set_state(saved)
    actual = np.random.RandomState(seed).choice(n, size=int(n * 0.9), replace=False)
    np.testing.assert_array_equal(actual, expected)


def test_prepare_leaves_global_random_state_alone() -> None:
    np.random.seed(7)
    expected = np.random.random(3)
    np.random.seed(7)
    prepare(load_admissions(data.sample_path()), 42)
    np.testing.assert_array_equal(np.random.random(3), expected)


def test_prepare_absent_rank_and_sample_std(tmp_path: Path) -> None:
    rows = [(i % 2, 300 + 40 * i, 2.5 + 0.13 * i, [1, 2, 4][i % 3]) for i in range(20)]  # rank 3 absent
    path = tmp_path / "no_rank3.csv"
    path.write_text("rank,gpa,admit,gre,extra\n" + "".join(f"{r},{p:.2f},{a},{g},x\n" for a, g, p, r in rows))
    split = prepare(load_admissions(path), 5)
    everything = np.vstack([split.features, split.features_test])
    assert everything.shape == (20, 6) and split.features.shape == (18, 6)
    assert not everything[:, 4].any()  # rank_3 column present, all zeros
    np.testing.assert_array_equal(everything[:, 2:].sum(axis=1), np.ones(20))
    gre = [g for _, g, _, _ in rows]
    expected_gre = sorted((g - statistics.mean(gre)) / statistics.stdev(gre) for g in gre)
    np.testing.assert_allclose(np.sort(everything[:, 0]), expected_gre, rtol=0, atol=1e-12)


def test_load_is_cached_until_the_file_changes(tmp_path: Path) -> None:
    path = tmp_path / "cached.csv"
    path.write_text("\n".join(VALID_ROWS) + "\n")
    first = load_admissions(path)
    assert load_admissions(str(path)) is first and first.source == "custom"
    with pytest.raises(ValueError):
        first.gre[0] = 0.0  # shared by every caller, so read-only
    path.write_text("\n".join(VALID_ROWS + ["1,800,4,1"]) + "\n")
    assert len(load_admissions(path)) == 13


def test_shipped_sample_has_realistic_statistics() -> None:
    sample = load_admissions(data.sample_path())
    assert (sample.source, len(sample)) == ("sample", 400)
    assert np.bincount(sample.rank, minlength=5)[1:].tolist() == [61, 151, 121, 67]
    assert (sample.gre % 20 == 0).all() and sample.gre.min() >= 220 and sample.gre.max() <= 800
    assert abs(sample.gre.mean() - 587.7) < 25 and abs(sample.gre.std(ddof=1) - 115.5) < 15
    assert sample.gpa.max() <= 4.0 and sample.gpa.min() >= 2.26
    assert abs(sample.gpa.mean() - 3.39) < 0.08 and abs(sample.gpa.std(ddof=1) - 0.38) < 0.05
    assert 0.25 <= sample.admit.mean() <= 0.40
    # Rank matters as in the logit model: rank 1 admits clearly more often than rank 4.
    assert sample.admit[sample.rank == 1].mean() > sample.admit[sample.rank == 4].mean() + 0.1


def test_regenerating_the_sample_gives_the_shipped_bytes(tmp_path: Path) -> None:
    shipped = data.sample_path().read_bytes()
    assert shipped.startswith(b"admit,gre,gpa,rank\n") and b"\r" not in shipped
    assert data.write_sample(tmp_path / "again.csv").read_bytes() == shipped
    assert data.write_sample(tmp_path / "other.csv", seed=1).read_bytes() != shipped
    small = lesson.ADMISSIONS.synthesize(3, 50)
    assert len(small) == 50 and {row["rank"] for row in small} == {1, 2, 3, 4}


def replace_line(number: int, text: str) -> str:
    lines = list(VALID_ROWS)
    lines[number - 1] = text
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("content, problem", ids=[
    "header", "not-a-number", "rank-5", "admit-2", "fields", "nan", "too-few-rows", "empty", "not-utf8"], argvalues=[
    (replace_line(1, "admit,gre,gpa,rnk"), "header lacks column rank"),
    (replace_line(7, "1,500,abc,2"), "line 7: gpa 'abc' is not a number"),
    (replace_line(4, "0,500,3.1,5"), "line 4: rank '5' is not an integer from 1 to 4"),
    (replace_line(3, "2,500,3.1,1"), "line 3: admit '2' is not 0 or 1"),
    (replace_line(5, "0,500,3.1"), "line 5: 3 fields, the header has 4"),
    (replace_line(6, "0,nan,3.1,1"), "line 6: gre 'nan' is not a finite number"),
    ("\n".join(VALID_ROWS[:6]) + "\n\n\n", "5 data rows, at least 10 needed"),
    ("", "the file is empty"),
    (("admit,gre,gpa,rank,city\n" + "".join(f"{row},Zürich\n" for row in VALID_ROWS[1:])).encode("latin-1"),
     "not UTF-8 text (byte 0xfc at offset 38)"),
])
def test_invalid_files_name_the_file_and_the_problem(tmp_path: Path, content: str | bytes, problem: str) -> None:
    path = tmp_path / "bad_admissions.csv"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(DataError) as caught:
        load_admissions(path)
    assert str(path) in str(caught.value) and problem in str(caught.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"absent\.csv: file not found"):
        load_admissions(tmp_path / "absent.csv")


def test_blank_lines_bom_extra_columns_are_accepted(tmp_path: Path) -> None:
    path = tmp_path / "loose.csv"
    body = "\n\n".join(row + ",note" for row in VALID_ROWS).replace("rank,note", "rank,comment", 1)
    path.write_bytes(b"\xef\xbb\xbf" + body.encode() + b"\r\n , , , ,\r\n")
    assert len(load_admissions(path)) == 12


def test_resolve_path_falls_back_to_the_sample(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(data, "DATA_DIR", tmp_path)
    path, notice = data.resolve_path(None)
    assert path == data.sample_path()
    assert notice is not None and "binary.csv not found" in notice and "admissions_sample.csv" in notice
    assert "python -m nngrade.data download" in notice and "\n" not in notice
    (tmp_path / "binary.csv").write_text("x")
    assert data.resolve_path(None) == (tmp_path / "binary.csv", None)
    assert data.resolve_path("elsewhere.csv") == (Path("elsewhere.csv"), None)


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    # no_proxy: a proxy configured on the machine must not intercept the local test server.
    environment = {key: value for key, value in os.environ.items() if key != "NNGRADE_DATA_URL"}
    environment.update({"no_proxy": "*", "NO_PROXY": "*", **(env or {})})
    return subprocess.run([sys.executable, "-m", "nngrade.data", *args], cwd=data.REPO, env=environment,
                          capture_output=True, text=True, timeout=60)


def test_cli_check_bad_file_is_one_clean_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.csv"
    path.write_text(replace_line(7, "1,500,abc,2"))
    result = run_cli("check", str(path))
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.strip() == f"error: {path} line 7: gpa 'abc' is not a number"
    assert "Traceback" not in result.stderr


def test_cli_check_prints_the_statistics(capsys: pytest.CaptureFixture[str]) -> None:
    assert data.main(["check", str(data.sample_path())]) == 0
    out = capsys.readouterr().out
    assert "rows    400" in out and "source  sample" in out and "1: 61  2: 151  3: 121  4: 67" in out
    assert f"sha256  {hashlib.sha256(data.sample_path().read_bytes()).hexdigest()}" in out


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A local HTTP server with the real file and a corrupted copy of it."""
    root = tmp_path_factory.mktemp("served")
    good = real_path().read_bytes()
    (root / "binary.csv").write_bytes(good)
    (root / "corrupt.csv").write_bytes(good.replace(b"0,380,3.61,3", b"0,380,3.62,3", 1))
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *args: None  # type: ignore[attr-defined]
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    # A short poll interval: shutdown() waits for it, 0.5 s by default.
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_download_verifies_and_writes(server: str, tmp_path: Path) -> None:
    dest = tmp_path / "out" / "binary.csv"
    result = run_cli("download", "--url", f"{server}/binary.csv", "--dest", str(dest))
    assert result.returncode == 0, result.stderr
    assert dest.read_bytes() == REAL_PATH.read_bytes()
    assert os.listdir(dest.parent) == ["binary.csv"]  # no temporary file left


def test_download_with_a_wrong_checksum_writes_nothing(server: str, tmp_path: Path) -> None:
    dest = tmp_path / "out" / "binary.csv"
    dest.parent.mkdir()
    result = run_cli("download", "--url", f"{server}/corrupt.csv", "--dest", str(dest))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "sha256 checksum" in result.stderr and "does not match" in result.stderr
    assert "nothing written" in result.stderr
    assert os.listdir(dest.parent) == []


def test_download_keeps_an_existing_file_unless_forced(server: str, tmp_path: Path) -> None:
    dest = tmp_path / "binary.csv"
    dest.write_text("mine")
    refused = run_cli("download", "--dest", str(dest), env={"NNGRADE_DATA_URL": f"{server}/binary.csv"})
    assert refused.returncode == 1 and "--force" in refused.stderr and dest.read_text() == "mine"
    forced = run_cli("download", "--force", "--dest", str(dest), env={"NNGRADE_DATA_URL": f"{server}/binary.csv"})
    assert forced.returncode == 0, forced.stderr
    assert dest.read_bytes() == REAL_PATH.read_bytes()


def test_download_reports_each_failed_source(server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("no_proxy", "*")
    with pytest.raises(DataError) as caught:
        data.download(tmp_path / "binary.csv", [f"{server}/missing.csv", f"{server}/corrupt.csv"])
    assert "missing.csv: HTTP 404" in str(caught.value) and "corrupt.csv: sha256 checksum" in str(caught.value)
    assert not (tmp_path / "binary.csv").exists()


def test_download_is_a_no_op_when_dest_is_already_real(tmp_path: Path) -> None:
    dest = tmp_path / "binary.csv"
    dest.write_bytes(real_path().read_bytes())
    assert data.download(dest, ["http://127.0.0.1:9/unreachable.csv"]) is None
    assert dest.read_bytes() == REAL_PATH.read_bytes()


def test_download_write_failure_is_a_data_error(server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("no_proxy", "*")
    (tmp_path / "not_a_folder").write_text("")
    with pytest.raises(DataError, match="cannot write .*not_a_folder"):
        data.download(tmp_path / "not_a_folder" / "binary.csv", [f"{server}/binary.csv"])
    assert os.listdir(tmp_path) == ["not_a_folder"]


def test_module_does_not_import_pandas() -> None:
    code = "import sys, nngrade.data; print('pandas' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], cwd=data.REPO, capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "False", result.stderr
