"""Simulated facial videos whose skin colour carries a pulse, for remote photoplethysmography (rPPG).

A small RGB video (default 32 × 32 pixels, 30 frames/s) of a face in front of a dark background: an elliptic
skin region with a per-subject skin tone, smooth texture and side lighting, two eyes and a mouth. Blood volume
in the skin absorbs light, strongest in green, so each skin pixel is dimmed by the local pulse,
``pixel = base · illumination(t) · (1 − s · w_rgb · p_region(t))`` with the blood-volume signature
``w_rgb ≈ (0.33, 0.77, 0.53)`` (de Haan & van Leest, 2014) and a relative strength ``s`` of a few per mille —
about half a grey level at 8 bits, which is why rPPG averages many pixels. The pulse of each region is the
PPG of :mod:`medrepro.sim.ppg` at that region's arterial site: the **forehead** and the **cheeks** receive the
pulse wave at different times (``cheek_distance_m / PWV`` apart), and a fingertip site (``finger_distance_m``)
gives the contact PPG that a pulse oximeter would record (the ground truth of datasets such as UBFC-rPPG).
Because PWV rises with blood pressure, the phase shift between sites carries pressure information — the idea
behind phase-shifted rPPG, here by construction.

Realistic:
    - per-subject skin tone, texture and lighting gradient; blood-volume colour signature; 8-bit quantisation;
    - slow illumination changes, head motion (the face drifts by a pixel or two, so a fixed region of interest
      sees texture and edges move through it), per-pixel camera noise;
    - per-subject heart rate, HRV, pulse morphology, blood pressure and pulse transit from the PPG simulator;
      the facial pulses are smoothed (``skin_damping_s``), as skin capillaries damp the pulse: facial rPPG
      looks more sinusoidal than a fingertip PPG.
Not modelled:
    - a 3-D head (rotation, talking, expressions), specular highlights, camera auto-exposure and white balance,
      compression, rolling shutter, the spatial heterogeneity of skin perfusion within a region;
    - the true size of facial transit-time differences: forehead and cheek are fed by closely related arteries
      and differ by a few milliseconds; ``cheek_distance_m`` is a knob, set larger in notebooks to make the
      two-site phase shift visible at 30 frames/s (the paper's second site is acral — a hand — for this reason).

Rendering is vectorised per clip (no per-frame Python loop): the face is drawn once per integer head position
and frames gather the pre-shifted images.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from .ppg import Participants, PpgNoise, StateSpec, sample_participants, simulate_ppg

#: Relative pulsatile absorption of blood in (R, G, B) — the "blood volume pulse signature".
PBV_SIGNATURE = np.array([0.33, 0.77, 0.53], dtype=np.float32)
#: Names of the simulated pulse sites, in the order of ``FaceVideoBatch.pulse``.
SITES: tuple[str, ...] = ("forehead", "cheek", "finger")


@dataclass
class FaceVideoSpec:
    """Geometry, timing and physiology of the clips."""

    size: int = 32  # frame height = width (pixels)
    fps: float = 30.0
    seconds: float = 10.0
    pulse_strength: float = 0.004  # relative dimming of skin per unit (standardised) pulse
    cheek_distance_m: float = 0.15  # extra arterial path from the forehead's to the cheeks' site
    finger_distance_m: float = 0.9  # extra arterial path to the fingertip (the contact PPG)
    hr_range: tuple[float, float] = (55.0, 100.0)  # session heart rates when none are given
    skin_damping_s: float = 0.08  # Gaussian smoothing of the facial pulses by the skin's capillary bed (s)


@dataclass
class VideoNoise:
    """Camera and scene artefacts. ``scale`` multiplies all of them."""

    camera_sd: float = 2.0  # grey levels, per pixel and frame (uniformly distributed)
    illumination: float = 0.03  # relative amplitude of slow light changes
    illumination_hz: tuple[float, float] = (0.05, 0.5)
    motion_px: float = 1.0  # amplitude of head drift (pixels)
    motion_prob: float = 0.6  # share of clips with head motion
    motion_hz: tuple[float, float] = (0.05, 0.35)  # frequencies of the head drift
    scale: float = 1.0


@dataclass
class FaceVideoBatch:
    """Simulated clips with their ground truth.

    Attributes:
        frames: (n, T, H, W, 3) uint8 RGB.
        fps: frame rate.
        pulse: (n, 3, T) float32 blood-volume pulse at the forehead, cheek and finger sites (``SITES``),
            sampled at the frame times; the finger site is what a pulse oximeter records.
        hr_bpm: (n,) mean heart rate; hr_track: (n, T) instantaneous heart rate at each frame (bpm).
        sbp, dbp: (n,) blood pressure of the session (mmHg).
        delay_s: (n, 3) transit delay of each site after the forehead site.
        masks: name → (H, W) bool skin masks of the ``forehead`` and ``cheek`` regions and the whole ``face``,
            at the face's resting position.
        participant: (n,) index into ``traits``.
    """

    frames: np.ndarray
    fps: float
    pulse: np.ndarray
    hr_bpm: np.ndarray
    hr_track: np.ndarray
    sbp: np.ndarray
    dbp: np.ndarray
    delay_s: np.ndarray
    masks: dict[str, np.ndarray]
    participant: np.ndarray
    traits: Participants
    meta: dict[str, np.ndarray] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.frames)

    @property
    def times(self) -> np.ndarray:
        """(T,) frame times in seconds."""
        return np.arange(self.frames.shape[1]) / self.fps


def face_masks(size: int) -> dict[str, np.ndarray]:
    """Masks of the face and its regions at the resting position, for a ``size`` × ``size`` frame."""
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) / size
    face = ((x - 0.5) / 0.33) ** 2 + ((y - 0.54) / 0.42) ** 2 <= 1.0
    eyes = (((x - 0.36) / 0.07) ** 2 + ((y - 0.45) / 0.035) ** 2 <= 1) | (
        ((x - 0.64) / 0.07) ** 2 + ((y - 0.45) / 0.035) ** 2 <= 1)
    mouth = ((x - 0.5) / 0.12) ** 2 + ((y - 0.78) / 0.03) ** 2 <= 1
    forehead = face & (y >= 0.17) & (y < 0.36) & (np.abs(x - 0.5) < 0.22)
    cheek = face & (y >= 0.52) & (y < 0.70) & (np.abs(x - 0.5) > 0.10) & (np.abs(x - 0.5) < 0.27)
    skin = face & ~eyes & ~mouth
    return {"face": skin, "forehead": forehead & skin, "cheek": cheek & skin, "eyes": eyes & face,
            "mouth": mouth & face}


def _smooth_texture(rng: np.random.Generator, size: int, n: int) -> np.ndarray:
    """(n, size, size) smooth multiplicative texture around 1 (low-pass filtered noise)."""
    white = rng.normal(size=(n, size, size))
    f = np.fft.fftfreq(size)
    lowpass = np.exp(-(f[:, None] ** 2 + f[None, :] ** 2) / (2 * 0.08 ** 2))
    tex = np.fft.ifft2(np.fft.fft2(white) * lowpass).real
    tex /= tex.std(axis=(1, 2), keepdims=True) + 1e-9
    return 1.0 + 0.05 * tex


def simulate_face_videos(
    n: int,
    *,
    seed: int = 0,
    spec: FaceVideoSpec = FaceVideoSpec(),
    noise: VideoNoise = VideoNoise(),
    participants: Participants | None = None,
    participant_index: np.ndarray | Sequence[int] | None = None,
    hr_bpm: np.ndarray | Sequence[float] | None = None,
    ppg_state: StateSpec = StateSpec(),
    ppg_noise: PpgNoise = PpgNoise(scale=0.0),
) -> FaceVideoBatch:
    """Simulate ``n`` facial video clips with forehead, cheek and fingertip pulses.

    Args:
        n: number of clips.
        seed: seeds everything not fixed by ``participants``.
        spec, noise: geometry, physiology and artefacts.
        participants, participant_index: who is filmed in each clip (default: ``n`` new participants).
        hr_bpm: (n,) session heart rates (default: uniform in ``spec.hr_range``).
        ppg_state, ppg_noise: passed to :func:`medrepro.sim.ppg.simulate_ppg` (the pulse itself is clean by
            default; the video adds its own artefacts).

    Returns:
        A :class:`FaceVideoBatch`; deterministic given the arguments.
    """
    rng = np.random.default_rng(seed)
    if participants is None:
        participants = sample_participants(n, seed=seed + 7)
        participant_index = np.arange(n)
    idx = np.arange(n) if participant_index is None else np.asarray(participant_index)
    if hr_bpm is None:
        hr_bpm = rng.uniform(*spec.hr_range, n)
    hr_bpm = np.asarray(hr_bpm, dtype=float)
    size, fps = int(spec.size), float(spec.fps)
    t_n = int(round(spec.seconds * fps))
    ppg = simulate_ppg(participants, idx, seconds=spec.seconds, fs=fps, seed=seed + 1, state=ppg_state,
                       noise=ppg_noise, site_distance_m=(0.0, spec.cheek_distance_m, spec.finger_distance_m),
                       hr_bpm=hr_bpm)
    pulse = ppg.signal  # (n, 3, T)
    if spec.skin_damping_s > 0:  # the skin's microvasculature smooths the facial pulses (not the fingertip's)
        from scipy.ndimage import gaussian_filter1d

        pulse[:, :2] = gaussian_filter1d(pulse[:, :2], spec.skin_damping_s * fps, axis=2, mode="nearest")
    centred = pulse - pulse.mean(axis=2, keepdims=True)
    unit = centred / (centred[:, :1].std(axis=2, keepdims=True) + 1e-9)  # standardised by the forehead pulse
    # instantaneous heart rate at each frame, from the beat onsets of the finger site (what an oximeter reports)
    times = np.arange(t_n) / fps
    track = np.empty((n, t_n), dtype=np.float32)
    for i in range(n):  # one searchsorted per clip
        on = ppg.beat_onsets[i][np.isfinite(ppg.beat_onsets[i])]
        if len(on) < 2:
            track[i] = hr_bpm[i]
            continue
        k = np.clip(np.searchsorted(on, times) - 1, 0, len(on) - 2)
        track[i] = 60.0 / np.diff(on)[k]
    masks = face_masks(size)
    region = np.zeros((size, size), dtype=np.int8)  # 0 background/eyes/mouth, 1 forehead, 2 cheek, 3 other skin
    region[masks["face"]] = 3
    region[masks["forehead"]] = 1
    region[masks["cheek"]] = 2
    # ---- per-clip appearance
    tone = rng.uniform(0.0, 1.0, n)  # light → dark skin
    skin_rgb = np.stack([225 - 95 * tone, 175 - 95 * tone, 150 - 90 * tone], axis=1) * rng.uniform(0.9, 1.1, (n, 1))
    texture = _smooth_texture(rng, size, n)
    light_dir = rng.uniform(-1, 1, n)
    xs = np.linspace(-1, 1, size)
    shading = 1.0 + 0.15 * light_dir[:, None, None] * xs[None, None, :]  # (n, 1, W)
    bg_rgb = rng.uniform(25, 70, (n, 3))
    moving = rng.random(n) < noise.motion_prob
    m_amp = noise.motion_px * noise.scale * moving
    m_f = rng.uniform(*noise.motion_hz, (n, 2, 2))
    m_ph = rng.uniform(0, 2 * np.pi, (n, 2, 2))
    il_f = rng.uniform(*noise.illumination_hz, (n, 3))
    il_ph = rng.uniform(0, 2 * np.pi, (n, 3))
    il_a = noise.illumination * noise.scale * rng.normal(0, 1, (n, 3)) / np.sqrt(3)
    frames = np.empty((n, t_n, size, size, 3), dtype=np.uint8)
    base_region = region
    for i in range(n):  # per clip; inside, everything is vectorised over frames and pixels
        dy = np.rint(m_amp[i] * np.sin(2 * np.pi * m_f[i, 0, :, None] * times + m_ph[i, 0, :, None]).mean(0)
                     * np.sqrt(2)).astype(int)
        dx = np.rint(m_amp[i] * np.sin(2 * np.pi * m_f[i, 1, :, None] * times + m_ph[i, 1, :, None]).mean(0)
                     * np.sqrt(2)).astype(int)
        shifts = sorted(set(zip(dy.tolist(), dx.tolist())))
        lookup = {s: k for k, s in enumerate(shifts)}
        which = np.array([lookup[s] for s in zip(dy.tolist(), dx.tolist())])
        face_img = skin_rgb[i][None, None, :] * (texture[i] * shading[i])[..., None]  # (H, W, 3)
        img = np.where((base_region > 0)[..., None], face_img, bg_rgb[i])
        img = np.where(masks["eyes"][..., None], 0.35 * face_img, img)
        img = np.where(masks["mouth"][..., None], face_img * np.array([0.85, 0.55, 0.55]), img)
        imgs = np.stack([np.roll(img, s, axis=(0, 1)) for s in shifts]).astype(np.float32)  # (S, H, W, 3)
        regs = np.stack([np.roll(base_region, s, axis=(0, 1)) for s in shifts])  # (S, H, W)
        # pulse per pixel: forehead, cheek, or their mean elsewhere on the skin
        per_region = np.stack([np.zeros(t_n), unit[i, 0], unit[i, 1], 0.5 * (unit[i, 0] + unit[i, 1])]).astype(np.float32)
        p = per_region[regs[which], np.arange(t_n)[:, None, None]]  # (T, H, W)
        light = 1.0 + np.einsum("k,kt->t", il_a[i], np.sin(2 * np.pi * il_f[i][:, None] * times + il_ph[i][:, None]))
        video = imgs[which]  # (T, H, W, 3), the face at each frame's head position
        mod = p[..., None] * (-spec.pulse_strength * PBV_SIGNATURE)  # − s · w_rgb · p
        mod += 1.0
        mod *= light.astype(np.float32)[:, None, None, None]
        video *= mod
        # camera noise: uniform with the requested standard deviation (cheaper to draw than Gaussian)
        cam = rng.random(video.shape, dtype=np.float32)
        cam -= 0.5
        cam *= np.float32(noise.camera_sd * noise.scale * np.sqrt(12.0))
        video += cam
        video += 0.5  # round half up when the assignment below truncates
        np.clip(video, 0, 255, out=video)
        frames[i] = video
    meta = {"skin_tone": tone, "motion": moving, "perfusion": ppg.state["perfusion"], "map": ppg.state["map"],
            "pwv": ppg.state["pwv"]}
    return FaceVideoBatch(frames=frames, fps=fps, pulse=pulse.astype(np.float32), hr_bpm=ppg.state["hr_bpm"],
                          hr_track=track, sbp=ppg.state["sbp"], dbp=ppg.state["dbp"], delay_s=ppg.state["delay_s"],
                          masks=masks, participant=idx, traits=participants, meta=meta)


def interpolate_frames(frames: np.ndarray, factor: float, n_out: int | None = None) -> np.ndarray:
    """Resample a clip in time by linear interpolation between neighbouring frames.

    Output frame ``k`` shows the scene at input time ``k · factor`` (in frames): ``factor > 1`` plays the clip
    faster (the heart rate appears multiplied by ``factor``), ``factor < 1`` slower. This is a simple stand-in
    for a learned frame interpolator (the paper uses one to synthesise brady- and tachycardic clips).

    Args:
        frames: (T, H, W, C) or (T, ...) array.
        factor: time-scaling factor (> 0).
        n_out: output length (default: as many frames as the input supports).

    Raises:
        ValueError: the input is too short for ``n_out`` frames at this factor.
    """
    if factor <= 0:
        raise ValueError(f"factor must be positive, got {factor}")
    t_in = frames.shape[0]
    max_out = int(np.floor((t_in - 1) / factor)) + 1
    n_out = max_out if n_out is None else int(n_out)
    if n_out > max_out:
        raise ValueError(f"{t_in} frames at factor {factor:g} give at most {max_out} output frames, not {n_out}")
    pos = np.arange(n_out) * factor
    lo = np.minimum(np.floor(pos).astype(int), t_in - 1)
    hi = np.minimum(lo + 1, t_in - 1)
    w = (pos - lo).reshape((-1,) + (1,) * (frames.ndim - 1))
    out = (1 - w) * frames[lo].astype(np.float32) + w * frames[hi].astype(np.float32)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8) if frames.dtype == np.uint8 else out.astype(frames.dtype)
