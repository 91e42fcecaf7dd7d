"""EdgeConnect's training stages chain through checkpoints as the official code's MODEL 1 -> 2 -> 3: each
stage trains its own networks inside a real Trainer, and `model.init_from` starts the next stage from the
weights the previous stage's checkpoint holds."""

from __future__ import annotations

from pathlib import Path

import pytest
import pytorch_lightning as pl
import torch
from hydra import compose, initialize_config_dir
from hydra.errors import InstantiationException
from hydra.utils import instantiate

from lightning_modules.edgeconnect.module import EdgeConnectInpainting
from overfitting import fit_repeated

CONF = Path(__file__).resolve().parents[1] / "conf"
TINY = [
    "model=edgeconnect",
    "model.generator.cnum=8",
    "model.generator.residual_blocks=1",
    "model.edge_generator.cnum=8",
    "model.edge_generator.residual_blocks=1",
    "model.discriminator.cnum=8",
    "model.edge_discriminator.cnum=8",
    "model.perceptual.weights=random",
    "model.perceptual.perceptual_layers=[relu1_1]",
    "model.perceptual.perceptual_weights=[1.0]",
    "model.perceptual.style_layers=[relu1_2]",
]
pytestmark = pytest.mark.filterwarnings("ignore:You defined a `validation_step` but have no `val_dataloader`")


def build(seed: int, *overrides: str) -> EdgeConnectInpainting:
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose("train", overrides=[*TINY, *overrides])
    torch.manual_seed(seed)
    return instantiate(cfg.model)


def batch() -> dict[str, torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    image = torch.nn.functional.interpolate(
        torch.rand(2, 3, 8, 8, generator=gen), size=(32, 32), mode="bilinear"
    )
    mask = torch.zeros(2, 1, 32, 32)
    mask[..., 8:24, 4:20] = 1
    return {"image": image, "mask": mask}


class WeightsAtStart(pl.Callback):
    """Each network's weights when training starts (after on_fit_start has loaded init_from)."""

    def on_train_start(self, trainer: pl.Trainer, module: EdgeConnectInpainting) -> None:
        self.state = {name: clone(module.network(name).state_dict()) for name in module.networks}


def clone(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {key: value.detach().clone() for key, value in state.items()}


def fit(model: EdgeConnectInpainting, root: Path, batches: int) -> tuple[WeightsAtStart, Path]:
    start = WeightsAtStart()
    trainer = fit_repeated(model, batch(), batches, default_root_dir=root, callbacks=[start])
    checkpoint = root / "last.ckpt"
    trainer.save_checkpoint(checkpoint)
    return start, checkpoint


def same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[key], b[key]) for key in a)


def weights(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The parameters alone, without spectral norm's power-iteration vectors."""
    return {key: value for key, value in state.items() if not key.endswith(("._u", "._v"))}


def saved(checkpoint: Path, network: str) -> dict[str, torch.Tensor]:
    prefix = network + "."
    state = torch.load(checkpoint, map_location="cpu", weights_only=True)["state_dict"]
    return {key[len(prefix) :]: value for key, value in state.items() if key.startswith(prefix)}


def test_each_stage_starts_from_the_previous_stages_checkpoint(tmp_path: Path) -> None:
    # MODEL 1: the edge model trains, the inpainting model is left alone.
    edge = build(0, "model.stage=edge")
    g2_initial = clone(edge.generator.state_dict())
    start, edge_ckpt = fit(edge, tmp_path / "edge", batches=2)
    assert not same(start.state["edge_g"], saved(edge_ckpt, "edge_generator"))  # G1 trained
    assert same(g2_initial, saved(edge_ckpt, "generator"))  # G2 did not

    # MODEL 2 from the edge checkpoint: fresh networks (another seed) get the edge stage's weights.
    inpaint = build(1, "model.stage=inpaint", f"model.init_from={edge_ckpt}")
    assert not same(clone(inpaint.edge_generator.state_dict()), saved(edge_ckpt, "edge_generator"))
    start, inpaint_ckpt = fit(inpaint, tmp_path / "inpaint", batches=1)
    for network, attribute in (
        ("edge_g", "edge_generator"),
        ("edge_d", "edge_discriminator"),
        ("g", "generator"),
    ):
        assert same(start.state[network], saved(edge_ckpt, attribute)), network
    # G1 / D1 are carried, not trained, into the inpaint stage's checkpoint; G2 trained on Canny edges.
    assert same(saved(inpaint_ckpt, "edge_generator"), saved(edge_ckpt, "edge_generator"))
    assert same(saved(inpaint_ckpt, "edge_discriminator"), saved(edge_ckpt, "edge_discriminator"))
    assert not same(saved(inpaint_ckpt, "generator"), saved(edge_ckpt, "generator"))

    # MODEL 3 from the inpaint checkpoint: G2 continues on G1's edges, G1 stays frozen.
    edge_inpaint = build(2, "model.stage=edge_inpaint", f"model.init_from={inpaint_ckpt}")
    start, final_ckpt = fit(edge_inpaint, tmp_path / "edge_inpaint", batches=1)
    assert same(start.state["g"], saved(inpaint_ckpt, "generator"))
    # (its spectral-norm power iterations run on, in training mode as the official code's; weights stay)
    assert same(weights(saved(final_ckpt, "edge_generator")), weights(saved(edge_ckpt, "edge_generator")))
    assert not same(saved(final_ckpt, "generator"), saved(inpaint_ckpt, "generator"))


def test_init_from_takes_each_network_from_its_own_checkpoint(tmp_path: Path) -> None:
    # The official MODEL 1 and 2 are independent runs; MODEL 3 loads G1 / D1 from one and G2 / D2 from the other.
    _, edge_ckpt = fit(build(0, "model.stage=edge"), tmp_path / "edge", batches=1)
    _, inpaint_ckpt = fit(build(1, "model.stage=inpaint"), tmp_path / "inpaint", batches=1)
    model = build(2, "model.stage=edge_inpaint")
    model.load_networks(
        {"edge_g": str(edge_ckpt), "edge_d": str(edge_ckpt), "g": str(inpaint_ckpt), "d": str(inpaint_ckpt)}
    )
    assert same(model.edge_generator.state_dict(), saved(edge_ckpt, "edge_generator"))
    assert same(model.generator.state_dict(), saved(inpaint_ckpt, "generator"))
    assert same(model.discriminator.state_dict(), saved(inpaint_ckpt, "discriminator"))


def test_init_from_names_a_missing_checkpoint(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.ckpt"
    with pytest.raises(FileNotFoundError, match="nowhere.ckpt"):
        build(0, "model.stage=inpaint", f"model.init_from={missing}").load_networks(str(missing))
    with pytest.raises(InstantiationException, match="model.stage"):
        build(0, "model.stage=edges")


def test_joint_stage_trains_the_edge_generator_through_the_inpainting_loss(tmp_path: Path) -> None:
    # The official joint model back-propagates G2's loss into G1 through the predicted edges: with G1's own
    # losses weighted 0, G1 still learns, from G2's loss alone.
    model = build(
        0, "model.stage=joint", "model.edge_adversarial_weight=0", "model.feature_matching_weight=0"
    )
    initial = weights(clone(model.edge_generator.state_dict()))
    _, checkpoint = fit(model, tmp_path, batches=1)
    assert not same(weights(saved(checkpoint, "edge_generator")), initial)


def test_inference_never_sees_the_hole() -> None:
    model = build(0, "model.stage=edge_inpaint").eval()
    data = batch()
    image, mask = data["image"], data["mask"]
    other = image * (1 - mask) + torch.rand_like(image) * mask
    with torch.no_grad():
        torch.testing.assert_close(model(other, mask), model(image, mask))


class Stages(pl.Callback):
    """The stage each batch trains in, and G1's weights before it."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        self.edge_g: list[dict[str, torch.Tensor]] = []

    def on_train_batch_start(self, trainer, module: EdgeConnectInpainting, batch, batch_idx) -> None:
        self.seen.append(module.current_stage())
        self.edge_g.append(weights(clone(module.edge_generator.state_dict())))


@pytest.mark.parametrize("table", ["ext_int_table1", "ext_int_table2"])
def test_eii_sweeps_run_the_three_published_stages_in_one_run(table: str) -> None:
    """The EII backbone's run is MODEL 1 + 2 (edge_and_inpaint), then MODEL 3 (edge_inpaint) from
    edge_inpaint_after on, G2's and D2's Adam afresh as the official new run; here switched after one batch."""
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        sweep = compose("train", overrides=[f"experiment={table}", "backbone=edgeconnect"])
        cfg = compose(
            "train",
            overrides=[
                f"experiment={table}",
                "backbone=edgeconnect",
                *TINY[1:],
                "model.edge_inpaint_after=4",
            ],
        )
    assert (sweep.model.stage, sweep.model.edge_inpaint_after) == ("edge_and_inpaint", 800000)
    assert sweep.model.edge_inpaint_after < sweep.trainer.max_steps  # MODEL 3 runs in every job
    torch.manual_seed(0)
    model = instantiate(cfg.model)
    stages = Stages()
    trainer = fit_repeated(model, batch(), 3, callbacks=[stages])
    assert stages.seen == ["edge_and_inpaint", "edge_inpaint", "edge_inpaint"]
    assert trainer.global_step == 4 + 2 * 2
    adam_steps = {
        name: max(int(s["step"]) for s in trainer.optimizers[i].state.values())
        for i, name in enumerate(model.networks)
    }
    assert adam_steps == {"edge_g": 1, "edge_d": 1, "g": 2, "d": 2}  # MODEL 3's own two steps
    trained_g1, final_g1 = stages.edge_g[1], weights(model.edge_generator.state_dict())
    assert not same(stages.edge_g[0], trained_g1) and same(trained_g1, final_g1)  # MODEL 1, then frozen


def test_edge_inpaint_after_needs_the_side_by_side_stage() -> None:
    with pytest.raises(InstantiationException, match="edge_inpaint_after"):
        build(0, "model.stage=edge", "model.edge_inpaint_after=4")
    with pytest.raises(InstantiationException, match="edge_inpaint_after"):
        build(0, "model.stage=edge_and_inpaint", "model.edge_inpaint_after=6")
