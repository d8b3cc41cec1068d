import matplotlib

matplotlib.use("Agg")
import numpy as np

from medrepro.viz import viewer


def test_static_fallback_outside_a_kernel():
    vol = np.random.default_rng(0).random((12, 16, 16))
    lab = (vol > 0.8).astype(int)
    fig = viewer.slice_viewer(vol, overlay=lab, title="demo", static_slices=4)
    assert len(fig.axes) == 4 and "static view" in fig._suptitle.get_text()
