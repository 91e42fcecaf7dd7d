"""benchmarks/vs_official.py's plumbing, with stand-ins for the authors' code and the suite's model: the two
sides alternate batch by batch, medians cover the timed batches after the warm-up, ratios are authors /
suite, a method without a clone is skipped with where to get it, and options the suite cannot build are
reported rather than fatal. A fake clock makes every time exact."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import pytorch_lightning as pl
import torch

from suite_cli import REPO

sys.path.insert(0, str(REPO / "benchmarks"))
import vs_official  # noqa: E402


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch):
    fake = FakeClock()
    monkeypatch.setattr(vs_official, "clock", fake)
    return fake


def taking(clock: FakeClock, calls: list[str], name: str, seconds: list[float]):
    """A stand-in that records its call and takes the next of `seconds` on the fake clock."""
    remaining = iter(seconds)

    def run(*args) -> None:
        calls.append(name)
        clock.now += next(remaining)

    return run


class TinySuite(pl.LightningModule):
    """Suite-like: manual optimization; its training step is `step`."""

    def __init__(self, step):
        super().__init__()
        self.automatic_optimization = False
        self.step = step
        self.weight = torch.nn.Parameter(torch.zeros(1))

    def training_step(self, batch, batch_idx) -> None:
        self.step()

    def configure_optimizers(self):
        return torch.optim.SGD([self.weight], lr=0.1)


def test_the_sides_alternate_and_medians_cover_the_timed_batches(clock):
    calls: list[str] = []
    warm = [100.0, 100.0]  # two warm-up batches, far slower: they must not count
    suite = TinySuite(taking(clock, calls, "suite step", [*warm, 4.0, 2.0, 6.0]))
    comparisons = [
        vs_official.Comparison("step", taking(clock, calls, "authors step", [*warm, 3.0, 9.0, 6.0])),
        vs_official.Comparison(
            "forward",
            taking(clock, calls, "authors forward", [*warm, 1.0, 2.0, 3.0]),
            taking(clock, calls, "suite forward", [*warm, 4.0, 5.0, 3.0]),
        ),
    ]
    medians = vs_official.measure(
        suite, "32-true", comparisons, {"image": torch.zeros(1)}, "cpu", warmup=2, repeats=3
    )
    assert calls == ["suite step", "authors step", "authors forward", "suite forward"] * 5
    assert medians == {"step": (6.0, 4.0), "forward": (2.0, 4.0)}


def test_only_the_suite_runs_under_the_trainers_bf16_autocast():
    seen: dict[str, bool] = {}

    def record(side: str):
        def run(*args) -> None:
            seen[side] = torch.is_autocast_enabled("cpu")

        return run

    suite = TinySuite(record("suite step"))
    authors = vs_official.authors_call(record("authors"), "cpu")
    comparisons = [vs_official.Comparison("forward", authors, record("suite forward"))]
    vs_official.measure(
        suite, "bf16-mixed", comparisons, {"image": torch.zeros(1)}, "cpu", warmup=0, repeats=1
    )
    assert seen == {"suite step": True, "authors": False, "suite forward": True}


def fake_method(clock: FakeClock, calls: list[str]):
    """A method whose authors' step takes 6 s; the suite's steps take 4 s eager and 2 s in bf16, and its
    compile option does not build."""

    def build_suite(overrides: list[str]):
        if "model.compile=true" in overrides:
            raise ValueError("Could not override 'model.compile'.\nKey 'compile' is not in struct")
        seconds = 2.0 if "trainer.precision=bf16-mixed" in overrides else 4.0
        return TinySuite(taking(clock, calls, "suite step", [seconds] * 4)), "32-true"

    def build(root: Path, batch: dict, args) -> list[vs_official.StepKind]:
        assert batch["image"].shape == (1, 3, 32, 32) and batch["mask"].shape == (1, 1, 32, 32)
        step = vs_official.Comparison("toy step", taking(clock, calls, "authors step", [6.0] * 8))
        return [vs_official.StepKind("toy", ["model=toy"], batch, [step])]

    return build_suite, vs_official.Method("https://github.com/someone/toy", "toy.py", build)


def test_rows_ratios_unavailable_options_and_json(clock, monkeypatch, tmp_path, capsys):
    calls: list[str] = []
    build_suite, method = fake_method(clock, calls)
    monkeypatch.setattr(vs_official, "build_suite", build_suite)
    monkeypatch.setitem(vs_official.METHODS, "toy", method)
    (tmp_path / "toy.py").touch()
    out = tmp_path / "results.json"
    arguments = ["--official", f"toy={tmp_path}", "--methods", "toy", "--options", "eager,compile,bf16"]
    arguments += ["--size", "32", "--warmup", "1", "--repeats", "3", "--json", str(out)]
    assert vs_official.main(arguments) == 0
    printed = capsys.readouterr().out
    assert "toy toy: option compile unavailable: Could not override 'model.compile'." in printed
    assert printed.split("best option per method and step")[1].split()[-2:] == ["bf16", "(3.00)"]
    results = json.loads(out.read_text())
    assert results["rows"] == [
        {
            "method": "toy",
            "step": "toy step",
            "option": "eager",
            "authors_s": 6.0,
            "suite_s": 4.0,
            "ratio": 1.5,
        },
        {
            "method": "toy",
            "step": "toy step",
            "option": "bf16",
            "authors_s": 6.0,
            "suite_s": 2.0,
            "ratio": 3.0,
        },
    ]
    assert results["unavailable"][0]["option"] == "compile" and results["failed"] == []
    assert results["settings"]["repeats"] == 3 and results["settings"]["size"] == 32
    assert calls == ["suite step", "authors step"] * 8


def test_a_method_without_a_clone_is_skipped_with_where_to_get_it(monkeypatch, tmp_path, capsys):
    def never(overrides):
        raise AssertionError("a skipped method builds nothing")

    monkeypatch.setattr(vs_official, "build_suite", never)
    out = tmp_path / "results.json"
    assert vs_official.main(["--methods", "gmcnn,deepgin", "--options", "eager", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "clone https://github.com/shepnerd/inpainting_gmcnn and pass the root folder" in printed
    assert "--official gmcnn=<clone>" in printed and "pytorch/model/net.py" in printed
    assert "clone https://github.com/rlct1/gin" in printed
    results = json.loads(out.read_text())
    assert results["rows"] == [] and results["skipped"] == ["gmcnn", "deepgin"]


def test_a_failing_measurement_is_reported_and_the_run_goes_on(clock, monkeypatch, tmp_path, capsys):
    calls: list[str] = []
    build_suite, method = fake_method(clock, calls)

    def broken(overrides):
        model, precision = build_suite(overrides)
        model.step = lambda: 1 / 0
        return model, precision

    monkeypatch.setattr(vs_official, "build_suite", broken)
    monkeypatch.setitem(vs_official.METHODS, "toy", method)
    (tmp_path / "toy.py").touch()
    arguments = ["--official", f"toy={tmp_path}", "--methods", "toy", "--options", "eager", "--size", "32"]
    assert vs_official.main(arguments) == 1
    assert "toy toy: option eager failed" in capsys.readouterr().out


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["--official", "pix2pix=/tmp"], "METHOD one of"),
        (["--official", "gmcnn=/nonexistent"], "no pytorch/model/net.py there"),
        (["--options", "eager,turbo"], "unknown option"),
        (["--methods", "lama"], "unknown method"),
        (["--size", "100"], "multiple of 32"),
    ],
)
def test_bad_arguments_are_refused(arguments, message, capsys):
    with pytest.raises(SystemExit):
        vs_official.parse_args(arguments)
    assert message in capsys.readouterr().err


def test_cuda_calls_stay_on_the_cpu_and_the_patch_is_undone():
    originals = torch.Tensor.cuda, torch.nn.Module.cuda
    net = torch.nn.Linear(1, 1)
    with vs_official.cuda_calls_to("cpu"):
        assert torch.ones(1).cuda().device.type == "cpu"
        assert net.cuda() is net
    assert (torch.Tensor.cuda, torch.nn.Module.cuda) == originals
    assert "cuda" not in vars(torch.Tensor)  # inherited again, as before


def test_clones_with_the_same_package_names_stay_apart(tmp_path):
    for clone, value in (("one", 1), ("two", 2)):
        package = tmp_path / clone / "model"
        package.mkdir(parents=True)
        (package / "__init__.py").touch()
        (package / "net.py").write_text(f"VALUE = {value}\n")
    (one,) = vs_official.import_official(tmp_path / "one", "model.net")
    (two,) = vs_official.import_official(tmp_path / "two", "model.net")
    assert (one.VALUE, two.VALUE) == (1, 2)
    assert "model" not in sys.modules and str(tmp_path / "one") not in sys.path
