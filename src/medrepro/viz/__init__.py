"""Figures: ECG grids (``viz.ecg``), segmentation overlays (``viz.seg``), image grids (``viz.images``)."""
