"""Every config composes, in the style of lightning-hydra-template: each option of each config group of
train / evaluate / predict (nested groups such as model/variant included), each job of each sweep, and each
experiment runs one batch at test size through the real entry logic. A YAML file under conf/ or sweeps/
that none of these compositions loads fails `test_every_config_file_is_composed`: a new config comes with
its test.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.types import RunMode
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf, open_dict, read_write

import suite  # noqa: F401  (registers the configs' resolvers, as the entry points do)
from checkpoints import (
    FEATURE_TRANSLATION_IMAGES,
    shared_run_dir,
    stage_checkpoint,
    tiny_deepgin_checkpoint,
    tiny_feature_translation_stages,
)
from fixture_trees import eii_datasets, write_image
from suite.evaluate import evaluate
from suite.train import train
from utils.pretrained import MissingWeightsError

REPO = Path(__file__).resolve().parents[1]
CONF, SWEEPS = REPO / "conf", REPO / "sweeps"
PRIMARY = ("train", "evaluate", "predict")
# Experiments run by evaluate.py (their comments say so); every other one is a training experiment.
EVALUATE_EXPERIMENTS = {
    "ext_int_table3",
    "deepgin_table2",
    "feature_translation_table1",
    "ext_int_table1_releases",
    "deepgin_table2_releases",
}
# Groups whose node is built in the composition that picks each option (data needs a dataset on disk,
# trainer a GPU for some options and model/feature_translation_variant a trained G_1 for two: the one-batch
# runs below and test_feature_translation_sweeps.py build those).
BUILT_GROUPS = {
    "model",
    "model/variant",
    "model/blockwise_variant",
    "model/feature_translation_stage",
    "mask",
    "colorization",
    "colorizer",
    "callbacks",
    "logger",
}
# Test-size networks, per model family, wherever a model is built.
TINY_MODELS = {
    "gatedconv": ("model.generator.cnum=8", "model.discriminator.cnum=8"),
    "blockwise": (
        "model.generator.channels=[4,8,8]",
        "model.generator.head_blocks=1",
        "model.discriminator.channels=4",
        "model.patch_perceptual.backbone_weights=random",
        "model.vgg_perceptual.weights=random",
    ),
    "edgeconnect": (
        "model.generator.cnum=8",
        "model.edge_generator.cnum=8",
        "model.generator.residual_blocks=1",
        "model.edge_generator.residual_blocks=1",
        "model.discriminator.cnum=8",
        "model.edge_discriminator.cnum=8",
        "model.perceptual.weights=random",
    ),
    "gmcnn": (
        "model.generator.cnum=8",
        "model.discriminator.cnum=8",
        "model.discriminator.image_size=32",
        "model.discriminator.local_size=16",
        "model.confidence.size=15",
        "model.id_mrf.weights=random",
    ),
    "hifill": (
        "model.generator.cnum=4",
        "model.discriminator.cnum=4",
        "model.generator.image_size=64",
        "model.generator.bottleneck_size=8",
        "model.generator.coarse_size=64",
    ),
    "feature_translation": (
        "model.generator.channels=4",
        "model.generator.max_channels=8",
        "model.discriminator.channels=4",
        "model.vgg_weights=random",
    ),
    "deepgin": (
        "model.generator.width=4",
        "model.discriminator.ndf=8",
        "model.perceptual.weights=random",
        "model.perceptual.input_size=null",
    ),
}

# groups that change one method's model, and that method
MODEL_SUBGROUPS = {
    "model/variant": "deepgin",
    "model/blockwise_variant": "blockwise",
    "model/feature_translation_stage": "feature_translation",
    "model/feature_translation_variant": "feature_translation",
}


def yaml_files() -> set[Path]:
    return {path for root in (CONF, SWEEPS) for path in root.rglob("*.yaml")}


def config_file(config_path: str) -> Path | None:
    """The file of a defaults-list entry (e.g. "mask_generators/deepfill_v2"), None for Hydra's own."""
    for root in (CONF, SWEEPS):
        if (root / f"{config_path}.yaml").is_file():
            return root / f"{config_path}.yaml"
    return None


def group_options(group: str) -> list[str]:
    """The options of a config group: the YAML files of its folder in conf/ and in sweeps/."""
    return sorted({path.stem for root in (CONF, SWEEPS) for path in (root / group).glob("*.yaml")})


def experiment_file(experiment: str) -> Path:
    return next(
        path for root in (SWEEPS, CONF) if (path := root / "experiment" / f"{experiment}.yaml").is_file()
    )


def sweep_jobs(experiment: str) -> list[list[str]]:
    """The overrides of every job of an experiment's sweep (hydra.sweeper.params), one list per job; one
    job without overrides for an experiment that is no sweep."""
    hydra_node = OmegaConf.load(experiment_file(experiment)).get("hydra") or {}
    params = hydra_node.get("sweeper", {}).get("params", {})
    parser = OverridesParser.create()
    axes = []
    for key, values in params.items():
        override = parser.parse_override(f"{key}={values}")
        values = override.sweep_string_iterator() if override.is_sweep_override() else [str(values)]
        axes.append([f"{key}={value}" for value in values])
    return [list(job) for job in itertools.product(*axes)]


def experiment_entry(experiment: str) -> str:
    return "evaluate" if experiment in EVALUATE_EXPERIMENTS else "train"


@pytest.fixture(autouse=True)
def no_hydra_config_left_behind():
    """`resolved` sets Hydra's global config as a run does; later tests in this process must not see it."""
    yield
    HydraConfig.instance().cfg = None


@pytest.fixture(scope="module")
def hydra():
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        yield GlobalHydra.instance().config_loader()


@functools.cache
def defaults_list(loader, entry: str, overrides: tuple[str, ...]):
    """The defaults tree alone, without merging the configs: the exploration below and
    `test_every_config_file_is_composed` ask for the same ones, at about half a composition's cost."""
    return loader.compute_defaults_list(entry, list(overrides), RunMode.RUN)


def loaded_files(loader, entry: str, overrides: list[str]) -> set[Path]:
    defaults = defaults_list(loader, entry, tuple(overrides)).defaults
    return {file for entry_ in defaults if entry_.config_path and (file := config_file(entry_.config_path))}


def option_compositions(loader) -> Iterator[tuple[str, str, str, list[str]]]:
    """(entry, group, option, overrides): every option of every group that a composition of an entry
    point chooses, explored breadth first so that nested groups (model/variant under model=deepgin,
    eval_size under its experiments) get the overrides that bring them in."""
    seen: set[tuple[str, str, str]] = set()
    for entry in PRIMARY:
        queue = [[]]
        while queue:
            base = queue.pop(0)
            choices = defaults_list(loader, entry, tuple(base)).overrides.known_choices
            for group in choices:
                options = group_options(group)
                if group == "experiment":
                    options = [option for option in options if experiment_entry(option) == entry]
                for option in options:
                    if (entry, group, option) in seen:
                        continue
                    seen.add((entry, group, option))
                    overrides = [*base, f"{group}={option}"]
                    yield entry, group, option, overrides
                    queue.append(overrides)


def sweep_compositions() -> Iterator[tuple[str, list[str]]]:
    for experiment in group_options("experiment"):
        for job in sweep_jobs(experiment):
            yield experiment_entry(experiment), [f"experiment={experiment}", *job]


def release_compositions() -> Iterator[list[str]]:
    """import_release.py's overrides for every release of every method (conf/release/)."""
    for method in group_options("release"):
        for dataset in OmegaConf.load(CONF / "release" / f"{method}.yaml").release.datasets:
            yield [f"release={method}", f"release.dataset={dataset}", "release.dir=."]


def test_every_config_file_is_composed(hydra):
    composed = set()
    for entry, *_, overrides in option_compositions(hydra):
        composed |= loaded_files(hydra, entry, overrides)
    for entry, overrides in sweep_compositions():
        composed |= loaded_files(hydra, entry, overrides)
    for overrides in release_compositions():
        composed |= loaded_files(hydra, "import_release", overrides)
    missing = sorted(str(path.relative_to(REPO)) for path in yaml_files() - composed)
    assert not missing, f"config files that no test composes: {missing}"


def resolved(entry: str, overrides: list[str], output_dir: Path) -> DictConfig:
    """The job config as a run sees it: composed with Hydra's node set (choices, output dir), every
    interpolation resolved, the `hydra` node removed."""
    cfg = compose(entry, overrides=overrides, return_hydra_config=True)
    with read_write(cfg), open_dict(cfg):
        cfg.hydra.runtime.output_dir = str(output_dir)
        cfg.hydra.job.num = 0
    HydraConfig.instance().set_config(cfg)
    with read_write(cfg), open_dict(cfg):
        del cfg["hydra"]
    OmegaConf.resolve(cfg)
    return cfg


def build(cfg: DictConfig, group: str) -> list:
    """The objects the group's node makes (a mask set makes two, a callbacks group one per entry)."""
    node = cfg[group.split("/")[0]]
    if group in ("callbacks", "logger"):
        return [instantiate(entry) for entry in (node or {}).values() if entry and "_target_" in entry]
    if group == "mask":
        return [instantiate(node.train), instantiate(node.eval)]
    try:
        return [instantiate(node)]
    except Exception as err:  # a colorizer whose weights file is absent here is reported, not broken
        if isinstance(err.__cause__, MissingWeightsError):
            return [err.__cause__]
        raise


def test_every_option_of_every_group_composes_and_builds(hydra, tmp_path):
    compositions = list(option_compositions(hydra))
    groups = {group for _, group, _, _ in compositions}
    assert {
        "model",
        "model/variant",
        "model/blockwise_variant",
        "data",
        "mask",
        "colorization",
        "colorizer",
        "trainer",
    } <= groups
    assert {"experiment", "eval_size", "hydra/launcher", "logger", "callbacks", "paths"} <= groups
    mask_folder = write_image(tmp_path / "masks" / "00000.png").parent
    for entry, group, option, overrides in compositions:
        if group == "mask" and option in ("folder", "nvidia_irregular"):  # masks read from a folder
            overrides = [*overrides, f"mask.eval.root={mask_folder}"]
        model = OmegaConf.load(CONF / "model" / f"{option}.yaml") if group == "model" else None
        family = option if model is not None else MODEL_SUBGROUPS.get(group)
        cfg = resolved(entry, [*overrides, *TINY_MODELS.get(family, ())], tmp_path)
        if group in BUILT_GROUPS:
            assert all(obj is not None for obj in build(cfg, group)), (entry, group, option)


def test_every_release_builds_its_model_and_converter(hydra, tmp_path):
    """Each release's config builds the method's module at the published widths and names a converter;
    the converted file goes to paths.releases_dir/<method>_<dataset>.ckpt, where the *_releases sweeps
    look for it."""
    releases = list(release_compositions())
    assert {overrides[0] for overrides in releases} >= {"release=edgeconnect"}
    for overrides in releases:
        cfg = resolved("import_release", overrides, tmp_path)
        assert callable(instantiate(cfg.release.convert))
        assert cfg.out.endswith(f"/releases/{cfg.release.method}_{cfg.release.dataset}.ckpt")
        assert cfg.release.datasets[cfg.release.dataset].url.startswith("https://")
    assert instantiate(cfg.model) is not None


def test_every_sweep_job_composes(hydra, tmp_path):
    jobs = list(sweep_compositions())
    # the five paper tables, the demo's two jobs and DeepGIN's single run
    assert len(jobs) >= 2 * 4 + 2 * 2 + 5 * 2 + 7 + 2 * 2 + 2 + 1
    for entry, overrides in jobs:
        resolved(entry, overrides, tmp_path)


# --- every experiment, one batch ----------------------------------------------------------------------
TINY_IMAGES = "[{_target_:datamodules.transforms.Resize,size:32}]"
ONE_BATCH = (
    "trainer=debug",
    "trainer.max_steps=2",  # one batch: a D and a G step
    "trainer.limit_test_batches=1",
    "logger=none",
    "data.batch_size=2",
    "data.num_workers=0",
    "data.val_limit=2",
    "data.test_limit=2",
    "colorization=fast",
    "colorization.iterations=[2,2,2]",
    "colorization.num_blocks=1",
    "colorization.channels=4",
)
EII_DATA = (f"data.train_transform.transforms={TINY_IMAGES}", f"data.eval_transform.transforms={TINY_IMAGES}")
EII_TEST_SETS = tuple(
    override
    for name in ("places2", "dtd", "paris_streetview", "celebahq")
    for override in (
        f"test_sets.{name}.eval_transform.transforms={TINY_IMAGES}",
        f"test_sets.{name}.test_limit=2",
        f"test_sets.{name}.num_workers=0",
    )
)
DEEPGIN_DATA = ("data=synthetic", "data.source.size=32", "data.train_transform.transforms.0.size=64")
BLOCKWISE = (
    *TINY_MODELS["blockwise"],
    *EII_DATA,
    "model.schedule.head_iterations=1",
    "model.schedule.block_iterations=1",
    "trainer.max_steps=-1",  # the model stops when its schedule ends
)
# What each experiment needs to run one batch here, besides its first sweep job and ONE_BATCH.
EXPERIMENTS = {
    "blockwise": (*BLOCKWISE, "data=coco"),
    "blockwise_512": (*BLOCKWISE, "data=coco"),
    "blockwise_ablations": BLOCKWISE,
    "feature_translation": (*TINY_MODELS["feature_translation"], "model.generator.image_size=32"),
    # the stages sweep tests only the joined model: its first job (G_1) is tested here
    "feature_translation_stages": (
        *TINY_MODELS["feature_translation"],
        "model.generator.image_size=32",
        "test=true",
    ),
    "feature_translation_ablations": (
        *TINY_MODELS["feature_translation"],
        f"data.train_transform.transforms={FEATURE_TRANSLATION_IMAGES}",
        f"data.eval_transform.transforms={FEATURE_TRANSLATION_IMAGES}",
        "model.generator.image_size=64",
    ),
    "feature_translation_table1": (f"data.eval_transform.transforms={FEATURE_TRANSLATION_IMAGES}",),
    "blockwise_guided": (
        *TINY_MODELS["blockwise"],
        "data.size=32",
        "model.schedule.head_iterations=1",
        "model.schedule.block_iterations=1",
        "trainer.max_steps=-1",
    ),
    "blockwise_table3_methods": (
        *TINY_MODELS["gatedconv"],
        *EII_DATA,
        "test_sets.centre.eval_transform.transforms=" + TINY_IMAGES,
        "test_sets.centre.test_limit=2",
        "test_sets.centre.num_workers=0",
    ),
    "blockwise_table3": (
        *BLOCKWISE,
        "test_sets.centre.eval_transform.transforms=" + TINY_IMAGES,
        "test_sets.centre.test_limit=2",
        "test_sets.centre.num_workers=0",
    ),
    "demo": TINY_MODELS["gatedconv"],
    "deepgin": (*TINY_MODELS["deepgin"], *DEEPGIN_DATA, "model.warmup_epochs=0"),
    "deepgin_table1": (*TINY_MODELS["deepgin"], *DEEPGIN_DATA, "model.warmup_epochs=0"),
    "deepgin_table2": ("data=synthetic", "data.source.size=32"),
    "ext_int_table1": (*TINY_MODELS["gatedconv"], *EII_DATA),
    "ext_int_table2": (*TINY_MODELS["gatedconv"], *EII_DATA, *EII_TEST_SETS),
    "ext_int_table3": (*EII_DATA, "colorizer=levin"),  # the first job's Zhang et al. needs its weights
    # a tiny DeepGIN checkpoint stands in for the release (test_release_tables.py converts real ones)
    "ext_int_table1_releases": EII_DATA,
    "deepgin_table2_releases": ("data=synthetic", "data.source.size=32", "release_name=deepgin_aim2020"),
}


def test_every_experiment_has_a_one_batch_run():
    experiments = {path.stem for root in (CONF, SWEEPS) for path in (root / "experiment").glob("*.yaml")}
    assert experiments == set(EXPERIMENTS)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return shared_run_dir(tmp_path_factory, "eii_datasets", eii_datasets)


@pytest.mark.parametrize("experiment", sorted(EXPERIMENTS))
def test_experiment_runs_one_batch(experiment, hydra, data_dir, tmp_path, tmp_path_factory):
    entry = experiment_entry(experiment)
    overrides = [f"experiment={experiment}", *sweep_jobs(experiment)[0], *ONE_BATCH, *EXPERIMENTS[experiment]]
    overrides.append(f"paths.data_dir={data_dir}")
    if experiment.startswith("feature_translation_") and experiment != "feature_translation_stages":
        stages = tiny_feature_translation_stages(tmp_path_factory, data_dir)
        overrides.append(
            f"ckpt_path={stages / 'multiscale.ckpt'}"
            if entry == "evaluate"
            else f"model.image2feature_ckpt={stage_checkpoint(stages, 'image2feature')}"
        )
    elif entry == "evaluate":
        overrides.append(f"ckpt_path={tiny_deepgin_checkpoint(tmp_path_factory)}")
    torch.manual_seed(0)
    results = (evaluate if entry == "evaluate" else train)(resolved(entry, overrides, tmp_path))
    assert results["overall"]["count"] > 0 and results["overall"]["psnr"] is not None
    assert (tmp_path / "metrics.json").is_file()
    if entry == "train":
        assert (tmp_path / "checkpoints" / "last.ckpt").is_file()
