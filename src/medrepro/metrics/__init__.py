"""Metrics with their uncertainty: classification (AUROC + bootstrap CI), segmentation (Dice, HD95),
generation (feature distances)."""
from .classification import auroc, bootstrap_ci, macro_auroc, paired_bootstrap_diff  # noqa: F401
from .segmentation import dice_per_class, hd95_per_class  # noqa: F401
