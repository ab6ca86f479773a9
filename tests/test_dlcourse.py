"""The helper library that every notebook imports."""
import pytest
import torch

import dlcourse
from dlcourse import data, runtime, testing


def test_scale_picks_by_env(monkeypatch):
    monkeypatch.setenv("DLCOURSE_SCALE", "short")
    assert dlcourse.scale(full=100, short=3) == 3
    monkeypatch.setenv("DLCOURSE_SCALE", "full")
    assert dlcourse.scale(full=100, short=3) == 100
    monkeypatch.delenv("DLCOURSE_SCALE")
    assert dlcourse.scale(full=100, short=3) == 100
    monkeypatch.setenv("DLCOURSE_SCALE", "tiny")
    with pytest.raises(ValueError, match=r"^DLCOURSE_SCALE must be 'full' or 'short', got 'tiny'$"):
        dlcourse.scale(full=1, short=0)


def test_threads_from_env(monkeypatch):
    before = torch.get_num_threads()
    try:
        monkeypatch.setenv("DLCOURSE_THREADS", "1")
        dlcourse.setup()
        assert torch.get_num_threads() == 1
        monkeypatch.setenv("DLCOURSE_THREADS", "0")
        with pytest.raises(ValueError):
            dlcourse.num_threads()
    finally:
        torch.set_num_threads(before)


@pytest.mark.parametrize("value", ["abc", "0", "-2", "1.5", "2 threads"])
def test_bad_thread_count_is_named(monkeypatch, value):
    monkeypatch.setenv("DLCOURSE_THREADS", value)
    with pytest.raises(runtime.SettingError) as e:
        runtime.check_settings()
    assert str(e.value) == f"DLCOURSE_THREADS must be a whole number >= 1, got {value!r}"


def test_unset_or_blank_settings_are_the_defaults(monkeypatch):
    monkeypatch.setenv("DLCOURSE_THREADS", " ")
    monkeypatch.setenv("DLCOURSE_SCALE", "")
    runtime.check_settings()
    assert dlcourse.num_threads() is None and dlcourse.scale(full=1, short=0) == 1
    monkeypatch.setenv("DLCOURSE_THREADS", " 3 ")
    assert dlcourse.num_threads() == 3


def test_seed_everything_repeats():
    dlcourse.seed_everything(3)
    a = torch.randn(4)
    dlcourse.seed_everything(3)
    assert torch.equal(a, torch.randn(4))


def test_check_close_messages():
    x = torch.ones(3)
    testing.check_close(x.clone(), x)
    with pytest.raises(AssertionError, match="shape"):
        testing.check_close(torch.ones(4), x)
    with pytest.raises(AssertionError, match="dtype"):
        testing.check_close(x.double(), x)
    with pytest.raises(AssertionError, match="NaN"):
        testing.check_close(torch.tensor([1.0, float("nan"), 1.0]), x)
    with pytest.raises(AssertionError, match="max abs error") as e:
        testing.check_close(x + 0.5, x, hint="scale?")
    assert "scale?" in str(e.value) and "1.0" not in str(e.value).split("error")[0]
    with pytest.raises(AssertionError, match="torch.Tensor"):
        testing.check_close([1.0, 1.0, 1.0], x)


def test_swapped_restores():
    ns = {"f": 1}
    with testing.swapped(ns, f=2, g=3):
        assert ns == {"f": 2, "g": 3}
    assert ns == {"f": 1}
    with pytest.raises(RuntimeError):
        with testing.swapped(ns, f=5):
            raise RuntimeError
    assert ns == {"f": 1}


def test_digits_split_is_fixed_and_stratified():
    xtr, ytr, xte, yte = data.digits()
    assert xtr.shape[1:] == (1, 8, 8) and xtr.dtype == torch.float32
    assert len(xtr) + len(xte) == 1797 and 0.0 <= float(xtr.min()) and float(xtr.max()) <= 1.0
    assert torch.equal(data.digits()[3], yte)
    counts = torch.bincount(yte, minlength=10).float()
    assert counts.min() / counts.max() > 0.9
