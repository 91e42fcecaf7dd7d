"""Paper-table rows of the authors' released models (sweeps/experiment/*_releases.yaml): a release converted
by import_release.py is scored by evaluate.py on a fixture tree with the paper's protocol, and report.py
prints this run beside the published value; cells without a release, or with one not converted yet, are
n/a with the reason and the command that fixes it."""

from __future__ import annotations

from pathlib import Path

import pytest

from checkpoints import shared_run_dir
from fixture_trees import eii_datasets
from releases import convert_release
from suite_cli import predict, report, run
from test_edgeconnect_release import SMALL, reference_networks, save_release
from test_predict import assert_known_pixels_kept, random_pixels, save, save_mask

TINY_IMAGES = "[{_target_:datamodules.transforms.Resize,size:32}]"
TINY_EVALUATION = (
    "logger=none",
    "data.num_workers=0",
    "data.test_limit=3",
    f"data.eval_transform.transforms={TINY_IMAGES}",
    # the mono rows' internal colorization, shrunk: only the plumbing is under test here
    "colorization=fast",
    "colorization.iterations=[5,5,10]",
    "colorization.num_blocks=1",
    "colorization.channels=8",
)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return shared_run_dir(tmp_path_factory, "eii_datasets", eii_datasets)


def test_eii_table1_rows_of_a_released_backbone(tmp_path: Path, data_dir: Path) -> None:
    releases = tmp_path / "releases"
    save_release(tmp_path / "places2", reference_networks())
    convert_release(
        "edgeconnect", "places2", tmp_path / "places2", releases / "edgeconnect_places2.ckpt", *SMALL
    )
    sweep = tmp_path / "sweep"
    run(
        "evaluate.py",
        "-m",
        "experiment=ext_int_table1_releases",
        "method=edgeconnect",  # one backbone's rows: as released, and re-colored
        "data=places2,celebahq,dtd",
        *TINY_EVALUATION,
        f"paths.releases_dir={releases}",
        f"paths.data_dir={data_dir}",
        f"hydra.sweep.dir={sweep}",
    )
    printed, rows = report(sweep)
    assert "EII Table 1 with the authors' released backbones" in printed
    header, body = rows[0], {row[0]: dict(zip(rows[0][1:], row[1:])) for row in rows[1:]}
    assert header[0] == "backbone (bottleneck)"
    for bottleneck in ("rgb", "mono"):
        cells = body[f"edgeconnect {bottleneck}"]
        assert float(cells["places2/psnr"]) > 5 and 0 < float(cells["places2/ssim"]) <= 1  # scored
        assert cells["celebahq/psnr"] == "n/a" and cells["dtd/psnr"] == "n/a"
    # the published baseline beside this run's value: this run / paper (difference)
    assert f"{float(body['edgeconnect rgb']['places2/psnr']):.2f} / 23.61 (" in printed
    assert "python import_release.py release=edgeconnect release.dataset=celeba" in printed
    assert "edgeconnect: no public release for dtd" in printed


def test_predict_inpaints_photos_with_a_converted_release(tmp_path: Path) -> None:
    save_release(tmp_path / "places2", reference_networks())
    release = tmp_path / "edgeconnect_places2.ckpt"
    convert_release("edgeconnect", "places2", tmp_path / "places2", release, *SMALL)
    photos = tmp_path / "photos"
    photos.mkdir()
    pixels = save(random_pixels((50, 70, 3), seed=0), photos / "street.png")
    hole = save_mask(photos / "street_mask.png", 70, 50, seed=1)
    result = predict(release, photos, tmp_path / "run", "output_dir=" + str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr[-2000:]
    assert_known_pixels_kept(tmp_path / "out" / "street.png", pixels, hole)
