"""Training batches per second of every method under each speed option (conf/model_base/gan.yaml): eager
float32, `trainer.precision=bf16-mixed`, `model.compile=true`, `model.channels_last=true`, and compile
with bf16, at the papers' widths. Loss networks take random weights (the same work as ImageNet's), so
the figures need no weight file.

    python benchmarks/training_options.py                              # CPU, 256², batch 1
    python benchmarks/training_options.py --device gpu --batch-size 8  # benchmarks/gpu_check.sh
    python benchmarks/training_options.py --methods gatedconv deepgin --options fp32 compile
    python benchmarks/training_options.py --methods hifill --options fp32 --profile 20  # + one step's top ops

Each row is one Lightning Trainer over a batch held in memory, after `--warmup` untimed batches (torch
.compile compiles in them). Ratios are against eager float32 on the same machine in the same run.
"""

from __future__ import annotations

import argparse
import sys
import traceback

import torch
from training_speed import build_model, fixed_batch, profile_step, training_batches_per_second

# method (and training phase) -> overrides at image size s
METHODS = {
    "gatedconv": lambda s: ["model=gatedconv"],
    "edgeconnect_edge": lambda s: ["model=edgeconnect", "model.perceptual.weights=random"],
    "edgeconnect_inpaint": lambda s: [
        "model=edgeconnect",
        "model.perceptual.weights=random",
        "model.stage=inpaint",
    ],
    "gmcnn_pretrain": lambda s: [
        "model=gmcnn",
        f"model.discriminator.image_size={s}",
        f"model.discriminator.local_size={s // 2}",
        "model.id_mrf.weights=random",
    ],
    "gmcnn_finetune": lambda s: [*METHODS["gmcnn_pretrain"](s), "model.pretrain_steps=0"],
    "hifill": lambda s: [
        "model=hifill",
        f"model.generator.image_size={s}",
        f"model.generator.bottleneck_size={s // 8}",
    ],
    "deepgin": lambda s: ["model=deepgin", "model.perceptual.weights=random", "model.warmup_epochs=0"],
    "blockwise": lambda s: [
        "experiment=blockwise",
        "model.patch_perceptual.backbone_weights=random",
        "model.vgg_perceptual.weights=random",
    ],
    "feature_translation": lambda s: [
        "model=feature_translation",
        f"model.generator.image_size={s}",
        "model.vgg_weights=random",
    ],
}
# option -> (model overrides, trainer precision)
OPTIONS = {
    "fp32": ([], "32-true"),
    "bf16": ([], "bf16-mixed"),
    "compile": (["model.compile=true"], "32-true"),
    "channels_last": (["model.channels_last=true"], "32-true"),
    "compile+bf16": (["model.compile=true"], "bf16-mixed"),
}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--device", default="cpu", choices=["cpu", "gpu"])
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=1)
    parser.add_argument("--batches", type=int, default=5, help="timed batches per row")
    parser.add_argument("--warmup", type=int, default=3, help="untimed batches first (compilation)")
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=list(METHODS))
    parser.add_argument("--options", nargs="+", default=list(OPTIONS), choices=list(OPTIONS))
    parser.add_argument(
        "--profile", type=int, metavar="ROWS", help="then the top ops of one eager float32 step per method"
    )
    args = parser.parse_args()

    batch = fixed_batch(args.size, args.batch_size)
    print(f"training batches/s, {args.device}, {args.size}², batch {args.batch_size}, {torch.__version__}")
    print(f"{'method':<22}" + "".join(f"{option:>22}" for option in args.options))
    failed = False
    for method in args.methods:
        rates = {}
        for option in args.options:
            overrides, precision = OPTIONS[option]
            torch._dynamo.reset()
            try:
                model = build_model([*METHODS[method](args.size), *overrides])
                rates[option] = training_batches_per_second(
                    model, batch, args.batches, args.warmup, args.device, precision
                )
            except Exception:  # one failing row must not hide the others' figures
                traceback.print_exc()
                failed = True
        eager = rates.get("fp32")
        cells = [
            f"{rates[o]:8.3f}" + (f" (×{rates[o] / eager:.2f})" if eager else "") if o in rates else "failed"
            for o in args.options
        ]
        print(f"{method:<22}" + "".join(f"{cell:>22}" for cell in cells), flush=True)
    for method in args.methods if args.profile else []:
        print(f"{method}: one eager float32 step")
        model = build_model(METHODS[method](args.size))
        print(profile_step(model, batch, args.warmup, args.device, "32-true", args.profile), flush=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
