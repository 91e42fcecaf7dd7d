"""One discriminator forward on the fake serves both the generator's and the discriminator's step: the
gradients equal those of the official order (knazeri/edge-connect src/models.py process()), where the
discriminator judges the output for the generator's loss and, again, its detached copy for its own."""

from __future__ import annotations

import copy

import pytest
import torch

from lightning_modules.edgeconnect.losses import discriminator_loss
from lightning_modules.gan import WeightedLoss
from test_edgeconnect_stages import batch, build


def step_gradients(model, stage: str) -> dict[str, list[torch.Tensor]]:
    """Each network's gradients from one training batch of the module, its optimizers not moving it."""
    optimizers = [torch.optim.SGD(model.network(name).parameters(), lr=0.0) for name in model.networks]
    model.optimizers = lambda: optimizers
    model.manual_backward = lambda loss, **kwargs: loss.backward(**kwargs)
    model.log_dict = lambda *args, **kwargs: None
    model.training_step(batch(), 0)
    return {name: [p.grad for p in model.network(name).parameters()] for name in model.networks}


def official_gradients(model, stage: str) -> dict[str, list[torch.Tensor]]:
    """The official process(): D on the detached output for D's loss, D on the output for G's."""
    model.log_dict = lambda *args, **kwargs: None
    image, mask = batch()["image"], batch()["mask"]
    gray, edges = model.edge_inputs(image)
    kind = model.hparams.gan_loss
    losses = {name: WeightedLoss() for name in model.networks}
    if stage in ("edge", "joint"):
        predicted = model.predict_edges(gray, edges, mask)
        real, real_features = model.edge_discriminator(torch.cat([gray, edges], dim=1))
        fake, _ = model.edge_discriminator(torch.cat([gray, predicted.detach()], dim=1))
        losses["edge_d"].add("d", discriminator_loss(real, fake, kind))
        judged = model.edge_discriminator(torch.cat([gray, predicted], dim=1))
        model.edge_generator_terms(losses["edge_g"], edges, predicted, judged, real_features, mask)
        edges = predicted * mask + edges * (1 - mask) if stage == "joint" else edges
    if stage in ("inpaint", "joint"):
        output = model.complete(image, edges, mask)
        real, _ = model.discriminator(image)
        fake, _ = model.discriminator(output.detach())
        losses["d"].add("d", discriminator_loss(real, fake, kind))
        model.inpaint_generator_terms(losses["g"], output, model.discriminator(output)[0], image, mask)
    generators = [name for name in ("edge_g", "g") if losses[name].terms]
    generator_loss = sum(losses[name].total() for name in generators)
    gradients = {}
    for names, loss in [(generators, generator_loss)] + [
        ((name,), losses[name].total()) for name in ("edge_d", "d") if losses[name].terms
    ]:
        parameters = [p for name in names for p in model.network(name).parameters()]
        grads = iter(torch.autograd.grad(loss, parameters, retain_graph=True))
        gradients |= {name: [next(grads) for _ in model.network(name).parameters()] for name in names}
    return gradients


@pytest.mark.parametrize("stage", ["edge", "inpaint", "joint"])
def test_one_discriminator_forward_gives_the_official_gradients(stage: str) -> None:
    model = build(0, f"model.stage={stage}")
    # no power iteration: spectral norm's σ is the same in every forward of both orders
    model.edge_discriminator.eval()
    model.discriminator.eval()
    official = official_gradients(copy.deepcopy(model), stage)
    got = step_gradients(model, stage)
    trained = {"edge": {"edge_g", "edge_d"}, "inpaint": {"g", "d"}, "joint": set(model.networks)}[stage]
    assert set(official) == trained
    for name, expected in official.items():
        assert len(got[name]) == len(expected)
        for grad, reference in zip(got[name], expected):
            torch.testing.assert_close(grad, reference, rtol=1e-5, atol=1e-8)
    idle = set(model.networks) - trained  # the stage's other networks get no gradient
    assert all(p.grad is None for name in idle for p in model.network(name).parameters())


def test_a_compiled_model_judges_the_fake_twice() -> None:
    fake = torch.rand(2, 3, 32, 32)
    eager, compiled = build(0, "model.stage=inpaint"), build(0, "model.stage=inpaint", "model.compile=true")
    assert eager.judge(eager.discriminator, fake).shared is not None
    compiled.discriminator.eval()  # no power iteration between the two forwards
    verdict = compiled.judge(compiled.discriminator, fake)
    assert verdict.shared is None  # compiled backward graphs cannot be kept for a second backward
    torch.testing.assert_close(verdict.for_generator()[0], verdict.for_discriminator()[0])
