"""Metrics with their uncertainty: classification (AUROC + bootstrap CI), segmentation (Dice, HD95),
generation (feature distances)."""
from .classification import (  # noqa: F401
    auroc, bootstrap_ci, bootstrap_weights, macro_auroc, mean_diff_ci, paired_bootstrap_diff, two_level_mean_ci,
    weighted_auroc,
)
from .segmentation import HD95_CONVENTIONS, binary_dice, binary_iou, dice_per_class, hd95, hd95_per_class  # noqa: F401
