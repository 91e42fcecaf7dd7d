"""The block-wise paper's guided-inpainting training composites (§4.4), built from a COCO-layout fixture
tree with polygon annotations: the object is pasted back where it was, with another image's colors, in a
box cut from that image; the box mask and its foreground / background split are right."""

from __future__ import annotations

import json

import kornia
import pytest
import torch

from datamodules.guided_composites import COCOObjects, GuidedComposites, transfer_colors
from fixture_trees import coco_objects_tree


def test_composites_paste_the_recolored_object_in_a_box_from_another_image(tmp_path):
    annotations = coco_objects_tree(tmp_path, n=4, size=64)
    objects = COCOObjects(annotations, tmp_path / "train2017")
    assert len(objects) == 4
    dataset = GuidedComposites(objects, size=64, margin=0.25, seed=0)
    for index in range(len(dataset)):
        item = dataset[index]
        image, composite = item["image"], item["composite"]
        box, hole, obj = item["mask"][0] > 0, item["hole"][0] > 0, item["object"][0] > 0
        # the object (rows 16:40, columns 8+4k:32+4k) with a quarter of its side around it
        top, left = 16, 8 + 4 * index
        expected = torch.zeros(64, 64, dtype=torch.bool)
        expected[top - 6 : top + 30, max(0, left - 6) : left + 30] = True
        assert torch.equal(box, expected)
        assert torch.equal(hole | obj, box) and not (hole & obj).any()
        assert int(obj.sum()) == 24 * 24
        # outside the box the composite is the image; the ground truth is the image itself
        assert torch.equal(composite[:, ~box], image[:, ~box])
        # the box's background is another image's background colour, not this one's
        assert (composite[:, hole] - image[:, hole]).abs().mean() > 0.05
        # the object's colours were transferred: its Lab mean is now the other image's
        guide = dataset._resized(objects.load(int(item["guide"]))[0])[0]
        assert int(item["guide"]) != index
        lab = kornia.color.rgb_to_lab(composite[None])[0][:, obj].mean(dim=1)
        reference = kornia.color.rgb_to_lab(guide[None])[0].flatten(1).mean(dim=1)
        original = kornia.color.rgb_to_lab(image[None])[0][:, obj].mean(dim=1)
        # (up to what leaves the RGB gamut and is clipped)
        assert (lab - reference).norm() < 0.25 * (original - reference).norm()
    # a pure function of (seed, index)
    assert torch.equal(
        dataset[2]["composite"], GuidedComposites(objects, size=64, margin=0.25)[2]["composite"]
    )


def test_the_guide_is_always_another_image(tmp_path):
    """§4.4: "we randomly select another image I_g from the dataset", never the image of the object."""
    annotations = coco_objects_tree(tmp_path, n=2, size=64)
    tree = json.loads(annotations.read_text())
    for k, top in enumerate((2, 44)):  # two more objects in the first image
        polygon = [40, top, 60, top, 60, top + 16, 40, top + 16]
        tree["annotations"].append(
            {
                "id": 200 + k,
                "image_id": 1,
                "category_id": 1,
                "segmentation": [polygon],
                "area": 320.0,
                "bbox": [40, top, 20, 16],
                "iscrowd": 0,
            }
        )
    annotations.write_text(json.dumps(tree))
    objects = COCOObjects(annotations, tmp_path / "train2017")
    images = [objects.coco.anns[ann]["image_id"] for ann in objects.objects]
    assert sorted(images) == [1, 1, 1, 2]
    for seed in range(8):
        dataset = GuidedComposites(objects, size=64, seed=seed)
        for index in range(len(dataset)):
            assert images[int(dataset[index]["guide"])] != images[index], (seed, index)


def test_one_image_cannot_make_composites(tmp_path):
    with pytest.raises(ValueError, match="two images"):
        COCOObjects(coco_objects_tree(tmp_path, n=1, size=64), tmp_path / "train2017")


def test_color_transfer_matches_the_reference_statistics():
    torch.manual_seed(0)
    image, reference = torch.rand(3, 32, 32) * 0.5, torch.rand(3, 32, 32) * 0.5 + 0.4
    where = torch.zeros(32, 32, dtype=torch.bool)
    where[8:24, 8:24] = True
    result = transfer_colors(image, where, reference)
    lab = kornia.color.rgb_to_lab(result[None])[0][:, where]
    ref = kornia.color.rgb_to_lab(reference[None])[0].flatten(1)
    assert torch.allclose(lab.mean(dim=1), ref.mean(dim=1), atol=1.0)  # Lab units (L in 0..100)
    assert (
        torch.equal(result[:, ~where], image[:, ~where].clamp(0, 1))
        or (result[:, ~where] - image[:, ~where]).abs().max() < 1e-3
    )
