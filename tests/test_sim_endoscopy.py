import numpy as np

from medrepro.sim.endoscopy import DOMAINS, PATTERNS, PRETEXT, EndoSpec, simulate_endoscopy


def test_shapes_balance_and_determinism():
    a = simulate_endoscopy(60, seed=1)
    b = simulate_endoscopy(60, seed=1)
    assert a.images.shape == (60, 32, 32, 3) and a.masks.shape == (60, 32, 32)
    assert np.bincount(a.labels).tolist() == [10] * len(PATTERNS)
    assert np.array_equal(a.images, b.images) and not np.array_equal(a.images, simulate_endoscopy(60, seed=2).images)
    assert set(np.unique(a.domain)) <= set(range(len(DOMAINS)))
    assert simulate_endoscopy(8, seed=0, pretext=True).classes == PRETEXT


def test_finding_is_darker_and_masks_cover_a_few_percent():
    b = simulate_endoscopy(200, seed=0, spec=EndoSpec(noise=0.0, highlights=0, guide_box=0.0))
    grey = b.images.mean(-1)
    inside = np.array([g[m].mean() for g, m in zip(grey, b.masks)])
    ring = np.array([g[(~m) & (np.hypot(*np.mgrid[-1:1:32j, -1:1:32j]) < 0.9)].mean() for g, m in zip(grey, b.masks)])
    assert (inside < ring).mean() > 0.95
    assert 0.03 < b.masks.mean() < 0.3


def test_domains_are_the_main_colour_clusters():
    from sklearn.cluster import KMeans
    from sklearn.metrics import normalized_mutual_info_score

    b = simulate_endoscopy(300, seed=0)
    mean_rgb = b.images.reshape(len(b.images), -1, 3).mean(1)
    k = KMeans(3, n_init=3, random_state=0).fit_predict(mean_rgb)
    assert normalized_mutual_info_score(b.domain, k) > 0.8           # the sub-populations k-means finds
    assert normalized_mutual_info_score(b.labels, k) < 0.05          # ...carry no class information
