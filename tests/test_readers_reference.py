"""Readers against the outside: files written by the reference libraries, and published real WFDB headers.

Every WFDB case is read by both readers (``read_wfdb`` through the wfdb package, ``read_wfdb16`` the numpy fast
path) and by ``wfdb.rdrecord``; they must agree on every file, or both refuse it with an error naming the file.
The real headers are byte-exact copies (sources in the comments); their ``.dat`` contents are synthesized to
match the headers' initial values and checksums and written by ``wfdb.wrsamp`` (or, for the MATLAB-v4 signal
file of Chapman-Shaoxing, by ``scipy.io.savemat``), so a reader must accept them as the real files.
"""
from __future__ import annotations


import numpy as np
import pytest
import wfdb

from medrepro.data import io

pytestmark = pytest.mark.filterwarnings("ignore::Warning:wfdb")  # wfdb's own pandas deprecation warnings

# PTB-XL 1.0.3, records100/00000/00001_lr.hea, written by wfdb-python: checksums stored as sum % 65536
# (64758 for lead III). Quoted verbatim in the PhysioNet Challenge 2024 documentation and in code that reads
# PTB-XL (search "00001_lr.dat 16 1000.0(0)/mV"); one LF-terminated line each.
PTBXL_00001_LR_HEA = "".join(f"{ln}\n" for ln in [
    "00001_lr 12 100 1000",
    "00001_lr.dat 16 1000.0(0)/mV 16 0 -119 1508 0 I",
    "00001_lr.dat 16 1000.0(0)/mV 16 0 -55 723 0 II",
    "00001_lr.dat 16 1000.0(0)/mV 16 0 64 64758 0 III",
    "00001_lr.dat 16 1000.0(0)/mV 16 0 86 64423 0 AVR",
    "00001_lr.dat 16 1000.0(0)/mV 16 0 -91 1211 0 AVL",
    "00001_lr.dat 16 1000.0(0)/mV 16 0 4 7 0 AVF",
    "00001_lr.dat 16 1000.0(0)/mV 16 0 -69 63827 0 V1",
    "00001_lr.dat 16 1000.0(0)/mV 16 0 -31 6999 0 V2",
    "00001_lr.dat 16 1000.0(0)/mV 16 0 0 63759 0 V3",
    "00001_lr.dat 16 1000.0(0)/mV 16 0 -26 61447 0 V4",
    "00001_lr.dat 16 1000.0(0)/mV 16 0 -39 64979 0 V5",
    "00001_lr.dat 16 1000.0(0)/mV 16 0 -79 832 0 V6",
])

# MIT-BIH Arrhythmia Database, 100.hea (C WFDB: format 212, signed checksums, CRLF line ends), as printed in
# the WFDB header(5) documentation and kept in wfdb-python's sample-data/100.hea (without the comment line
# and blank line that the wfdb-python tests added to their copy).
MITDB_100_HEA = "".join(f"{ln}\r\n" for ln in [
    "100 2 360 650000",
    "100.dat 212 200 11 1024 995 -22131 0 MLII",
    "100.dat 212 200 11 1024 1011 20052 0 V5",
    "# 69 M 1085 1629 x1",
    "# Aldomet, Inderal",
])

# Chapman-Shaoxing (PhysioNet ecg-arrhythmia 1.0.0), WFDBRecords/01/010/JS00001.hea: format 16 at a 24-byte
# offset into a MATLAB v4 file, signed checksums (-599, -32761). Signal and comment lines as quoted by several
# public parsers of the database; the record line's optional date and time (which the quotes disagree on)
# are left out.
CHAPMAN_JS00001_HEA = "".join(f"{ln}\n" for ln in [
    "JS00001 12 500 5000",
    "JS00001.mat 16+24 1000/mV 16 0 -254 21756 0 I",
    "JS00001.mat 16+24 1000/mV 16 0 264 -599 0 II",
    "JS00001.mat 16+24 1000/mV 16 0 517 -22376 0 III",
    "JS00001.mat 16+24 1000/mV 16 0 -5 28232 0 aVR",
    "JS00001.mat 16+24 1000/mV 16 0 -386 16619 0 aVL",
    "JS00001.mat 16+24 1000/mV 16 0 390 15121 0 aVF",
    "JS00001.mat 16+24 1000/mV 16 0 -98 1568 0 V1",
    "JS00001.mat 16+24 1000/mV 16 0 -312 -32761 0 V2",
    "JS00001.mat 16+24 1000/mV 16 0 -98 32715 0 V3",
    "JS00001.mat 16+24 1000/mV 16 0 810 15193 0 V4",
    "JS00001.mat 16+24 1000/mV 16 0 810 14081 0 V5",
    "JS00001.mat 16+24 1000/mV 16 0 527 32579 0 V6",
    "#Age: 85",
    "#Sex: Male",
    "#Dx: 164889003,59118001,164934002",
])

# PTB Diagnostic ECG Database 1.0.0, patient001/s0010_re.hea (C WFDB: 15 signals in two files, .dat and .xyz,
# signed checksums, CRLF line ends), byte for byte as kept in wfdb-python's sample-data/s0010_re.hea.
PTB_S0010_RE_HEA = "\r\n".join([
    's0010_re 15 1000 38400',
    's0010_re.dat 16 2000 16 0 -489 -8337 0 i',
    's0010_re.dat 16 2000 16 0 -458 -16369 0 ii',
    's0010_re.dat 16 2000 16 0 31 6829 0 iii',
    's0010_re.dat 16 2000 16 0 474 4582 0 avr',
    's0010_re.dat 16 2000 16 0 -260 11687 0 avl',
    's0010_re.dat 16 2000 16 0 -214 -16657 0 avf',
    's0010_re.dat 16 2000 16 0 -88 -12469 0 v1',
    's0010_re.dat 16 2000 16 0 -241 5636 0 v2',
    's0010_re.dat 16 2000 16 0 -112 -14299 0 v3',
    's0010_re.dat 16 2000 16 0 212 -17916 0 v4',
    's0010_re.dat 16 2000 16 0 393 -6668 0 v5',
    's0010_re.dat 16 2000 16 0 390 -17545 0 v6',
    's0010_re.xyz 16 2000 16 0 -3 -13009 0 vx',
    's0010_re.xyz 16 2000 16 0 120 7109 0 vy',
    's0010_re.xyz 16 2000 16 0 -18 -1992 0 vz',
    '',
    '# age: 81',
    '# sex: female',
    '# ECG date: 01/10/1990',
    '',
    '# Diagnose:',
    '# Reason for admission: Myocardial infarction',
    '# Acute infarction (localization): infero-latera',
    '# Former infarction (localization): no',
    '# Additional diagnoses: Diabetes mellitus',
    '# Smoker: no',
    '# Number of coronary vessels involved: 1',
    '# Infarction date (acute): 29-Sep-90',
    '# Previous infarction (1) date: n/a',
    '# Previous infarction (2) date: n/a',
    '',
    '# Hemodynamics:',
    '# Catheterization date: 16-Oct-90',
    '# Ventriculography: Akinesia inferior wall',
    '# Chest X-ray: Heart size upper limit of norm',
    '# Peripheral blood Pressure (syst/diast):  140/80 mmHg',
    '# Pulmonary artery pressure (at rest) (syst/diast): n/a',
    '# Pulmonary artery pressure (at rest) (mean): n/a',
    '# Pulmonary capillary wedge pressure (at rest): n/a',
    '# Cardiac output (at rest): n/a',
    '# Cardiac index (at rest): n/a',
    '# Stroke volume index (at rest): n/a',
    '# Pulmonary artery pressure (laod) (syst/diast): n/a',
    '# Pulmonary artery pressure (laod) (mean): n/a',
    '# Pulmonary capillary wedge pressure (load): n/a',
    '# Cardiac output (load): n/a',
    '# Cardiac index (load): n/a',
    '# Stroke volume index (load): n/a',
    '# Aorta (at rest) (syst/diast): 160/64 cmH2O',
    '# Aorta (at rest) mean: 106 cmH2O',
    '# Left ventricular enddiastolic pressure: 11 cmH2O',
    '# Left coronary artery stenoses (RIVA): RIVA 70% proximal to ramus diagonalis_2',
    '# Left coronary artery stenoses (RCX): No stenoses',
    '# Right coronary artery stenoses (RCA): No stenoses',
    '# Echocardiography: n/a',
    '',
    '# Therapy:',
    '# Infarction date: 29-Sep-90',
    '# Catheterization date: 16-Oct-90',
    '# Admission date: 29-Sep-90',
    '# Medication pre admission: Isosorbit-Dinitrate Digoxin Glibenclamide',
    '# Start lysis therapy (hh.mm): 19:45',
    '# Lytic agent: Gamma-TPA',
    '# Dosage (lytic agent): 30 mg',
    '# Additional medication: Heparin Isosorbit-Mononitrate ASA Diazepam',
    '# In hospital medication: ASA Isosorbit-Mononitrate Ca-antagonist Amiloride+Chlorothiazide Glibenclamide Insulin',
    '# Medication after discharge: ASA Isosorbit-Mononitrate Amiloride+Chlorothiazide Glibenclamide',
]) + "\r\n"

# wfdb-python's sample-data/multi-segment/041s/041s.hea (a MIMIC multi-segment record header).
MULTI_SEGMENT_041S_HEA = "041s/2 7 125 2000 8:26:04 26/10/1994\r\n041s01 1000\r\n041s02 1000\r\n"

READERS = {"read_wfdb": io.read_wfdb, "read_wfdb16": io.read_wfdb16}


# ------------------------------------------------------------------------------------------- writing helpers
def samples_matching(rng: np.random.Generator, n: int, init: int, checksum: int, centre: int = 0,
                     spread: int = 300) -> np.ndarray:
    """``n`` integer samples starting at ``init`` whose sum is ``checksum`` modulo 65536 (a WFDB checksum)."""
    x = centre + rng.integers(-spread, spread + 1, n).astype(np.int64)
    x[0] = init
    delta = (int(checksum) - int(x.sum())) % 65536
    delta = (delta + 32768) % 65536 - 32768  # the smallest change, either sign
    q, r = divmod(abs(delta), n - 1)
    step = np.full(n - 1, q, dtype=np.int64)
    step[:r] += 1
    x[1:] += int(np.sign(delta)) * step
    assert (int(x.sum()) - checksum) % 65536 == 0 and x[0] == init
    return x


def header_columns(text: str) -> list[list[str]]:
    """The signal lines of a header text, split into fields."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.strip().startswith("#")]
    return [ln.split() for ln in lines[1:]]


def wfdb_write(folder, name: str, d: np.ndarray, fmt: str, *, fs: float = 100.0, gain: float = 200.0,
               baseline: int = 0, files: list[str] | None = None, byte_offset: int | None = None) -> None:
    """Write stored samples ``d`` (samples, signals) with ``wfdb`` (header and signal files)."""
    n = d.shape[1]
    rec = wfdb.Record(record_name=name, n_sig=n, fs=fs, sig_len=len(d), file_name=files or [f"{name}.dat"] * n,
                      fmt=[fmt] * n, adc_gain=[gain] * n, baseline=[baseline] * n, units=["mV"] * n,
                      adc_res=[{"212": 12, "80": 8}.get(fmt, 16)] * n, adc_zero=[0] * n,
                      sig_name=[f"s{j}" for j in range(n)], d_signal=d.astype(np.int64),
                      init_value=[int(v) for v in d[0]], block_size=[0] * n)
    rec.set_d_features(do_adc=False)
    rec.wrsamp(write_dir=str(folder))


def write_real(folder, header: str, centre: int = 0, spread: int = 300, seed: int = 0) -> None:
    """Write a published header byte for byte, with signal files whose samples match its checksums.

    The samples are written by ``wfdb`` in the header's format and files (a MATLAB-v4 ``.mat`` file, as
    Chapman-Shaoxing has, by ``scipy.io.savemat``); the header ``wfdb`` wrote is then replaced by the real one.
    """
    cols = header_columns(header)
    record = header.split()[0]
    n = int(header.split()[3])
    rng = np.random.default_rng(seed)
    d = np.stack([samples_matching(rng, n, int(c[5]), int(c[6]), centre, spread) for c in cols], axis=1)
    fmt = cols[0][1].split("+")[0]
    if cols[0][0].endswith(".mat"):
        from scipy.io import savemat

        savemat(str(folder / cols[0][0]), {"val": d.astype(np.int16).T}, format="4")
        assert (folder / cols[0][0]).stat().st_size == 24 + d.size * 2  # the "+24" byte offset of the header
    else:
        wfdb_write(folder, record, d, fmt, files=[c[0] for c in cols])
    (folder / f"{record}.hea").write_bytes(header.encode("ascii"))


@pytest.fixture(scope="module")
def real(tmp_path_factory):
    """The four published headers with matching signal files: ``{name: record stem}``."""
    base = tmp_path_factory.mktemp("real")
    out = {}
    for name, header, folder, centre, spread in [
            ("ptbxl", PTBXL_00001_LR_HEA, "records100/00000", 0, 300),
            ("mitdb", MITDB_100_HEA, "mitdb", 1000, 100),
            ("chapman", CHAPMAN_JS00001_HEA, "WFDBRecords/01/010", 0, 300),
            ("ptb", PTB_S0010_RE_HEA, "ptb/patient001", 0, 300)]:
        path = base / folder
        path.mkdir(parents=True)
        write_real(path, header, centre, spread)
        out[name] = path / header.split()[0]
    return out


def reference(stem) -> tuple[np.ndarray, list[str], float]:
    """What the wfdb package reads: physical signal (NaN for missing samples), signal names, rate."""
    rec = wfdb.rdrecord(str(stem))
    return rec.p_signal, list(rec.sig_name), float(rec.fs)


# ------------------------------------------------------------------------------------- published real headers
@pytest.mark.parametrize("reader", READERS)
@pytest.mark.parametrize("name", ["ptbxl", "mitdb", "chapman", "ptb"])
def test_real_headers_read_as_wfdb_reads_them(real, name, reader):
    rec = READERS[reader](real[name])
    ref, names, fs = reference(real[name])
    assert rec.lead_names == names and rec.fs == fs and rec.signal.shape == ref.shape
    np.testing.assert_allclose(rec.signal, ref, rtol=0, atol=1e-6)
    text = (real[name].parent / f"{real[name].name}.hea").read_text()
    gains = [float(c[2].split("(")[0].split("/")[0]) for c in header_columns(text)]
    zeros = [int(c[4]) for c in header_columns(text)]
    first = [(int(c[5]) - z) / g for c, g, z in zip(header_columns(text), gains, zeros)]
    np.testing.assert_allclose(rec.signal[0], first, atol=1e-6)  # the header's initial values


def test_ptbxl_header_with_unsigned_checksums_is_accepted(real):
    """Finding 1: PTB-XL's 00001_lr.hea stores lead III's checksum as 64758 (= -778 mod 65536)."""
    assert "0 64 64758 0 III" in PTBXL_00001_LR_HEA
    from medrepro.data.datasets import ptbxl

    sig, fs = ptbxl.read_record(real["ptbxl"], expect_fs=100)
    assert sig.shape == (1000, 12) and fs == 100.0


def test_real_ptb_header_through_the_ptb_loader(real):
    from medrepro.data.datasets import ptb

    root = real["ptb"].parent.parent
    rec = ptb.read_record(root, "patient001/s0010_re")
    ref, names, _ = reference(real["ptb"])
    np.testing.assert_allclose(rec.signal, ref, atol=1e-6)
    assert rec.leads == names and rec.reason == "Myocardial infarction" and rec.age == 81 and rec.sex == "female"


def test_real_chapman_header_through_the_chapman_loader(real):
    from medrepro.data.datasets import chapman_shaoxing as cs

    data = cs.load(real["chapman"].parents[2].parent)
    ref, _, _ = reference(real["chapman"])
    np.testing.assert_allclose(data.signals[0], ref, atol=1e-6)
    assert data.dx == [["164889003", "59118001", "164934002"]] and data.age[0] == 85 and data.male[0]


def test_real_mitdb_header_format_212_through_the_mitdb_loader(real, tmp_path):
    from medrepro.data.datasets import mitdb

    root = real["mitdb"].parent
    beats = np.arange(100, 650000 - 100, 300)
    wfdb.wrann("100", "atr", beats, symbol=["N", "V"] * (len(beats) // 2) + ["N"] * (len(beats) % 2),
               write_dir=str(root))
    (root / "RECORDS").write_text("100\n")
    out = mitdb.load_beats(root)
    sig, r, cls = out["100"]
    ref, _, _ = reference(real["mitdb"])
    np.testing.assert_allclose(sig, ref[:, 0], atol=1e-6)
    ann = wfdb.rdann(str(real["mitdb"]), "atr")
    np.testing.assert_array_equal(r, ann.sample)
    assert list(cls[:2]) == [0, 2]  # N, V in AAMI classes


# ------------------------------------------------------------------------- one matrix of cases, both readers
def _signals(n: int = 400, k: int = 3, seed: int = 1, scale: int = 2000) -> np.ndarray:
    return np.random.default_rng(seed).integers(-scale, scale, size=(n, k))


def case_format16(p):
    wfdb_write(p, "r", _signals(), "16")
    return p / "r"


def case_format16_negative_sums(p):
    """wfdb.wrsamp stores checksums as sum % 65536: a negative sum is written as a number above 32767."""
    d = _signals() - 1500
    wfdb_write(p, "r", d, "16")
    assert any(int(c[6]) > 32767 for c in header_columns((p / "r.hea").read_text()))
    return p / "r"


def case_format16_signed_checksums(p):
    """The same samples with the checksums as C WFDB writes them (signed 16-bit)."""
    case_format16_negative_sums(p)
    hea = p / "r.hea"
    lines = hea.read_text().splitlines()
    for i in range(1, 4):
        f = lines[i].split()
        f[6] = str((int(f[6]) + 32768) % 65536 - 32768)
        lines[i] = " ".join(f)
    hea.write_text("\n".join(lines) + "\n")
    return p / "r"


def case_format212(p):
    wfdb_write(p, "r", _signals(k=2, scale=1000) + 1024, "212", fs=360, baseline=1024)
    return p / "r"


def case_format212_odd_length(p):
    wfdb_write(p, "r", _signals(n=401, k=1, scale=1000), "212", fs=360)
    return p / "r"


def case_format80(p):
    wfdb_write(p, "r", _signals(k=2, scale=100), "80")
    return p / "r"


def case_two_signal_files(p):
    wfdb_write(p, "r", _signals(k=5), "16", files=["r.dat"] * 3 + ["r.xyz"] * 2)
    return p / "r"


def case_baseline(p):
    wfdb_write(p, "r", _signals(), "16", gain=125.0, baseline=-40)
    assert "125.0(-40)/mV" in (p / "r.hea").read_text()
    return p / "r"


def case_no_sample_values16(p):
    """-32768 is WFDB's "no sample" in format 16: NaN, as wfdb reads it."""
    d = _signals()
    d[[5, 6, 200], [0, 0, 2]] = -32768
    wfdb_write(p, "r", d, "16")
    return p / "r"


def case_no_sample_values212(p):
    d = _signals(k=2, scale=1000)
    d[[3, 50], [1, 0]] = -2048
    wfdb_write(p, "r", d, "212")
    return p / "r"


def case_no_length16(p):
    case_format16(p)
    (p / "r.hea").write_text((p / "r.hea").read_text().replace("r 3 100 400", "r 3 100"))
    return p / "r"


def case_no_length_or_rate16(p):
    """Only the signal count: WFDB takes 250 Hz and the file's length."""
    case_format16(p)
    (p / "r.hea").write_text((p / "r.hea").read_text().replace("r 3 100 400", "r 3"))
    return p / "r"


def case_no_length212_real(p):
    """wfdb-python's sample-data/100-no-len.hea: MIT-BIH 100 without the length field."""
    write_real(p, MITDB_100_HEA, centre=1000, spread=100)
    (p / "100-no-len.hea").write_text(MITDB_100_HEA.replace("100 2 360 650000", "100-no-len 2 360"))
    return p / "100-no-len"


def case_crlf_comments_everywhere(p):
    case_format16(p)
    lines = (p / "r.hea").read_text().splitlines()
    text = "  # leading comment\r\n" + lines[0] + "\r\n\r\n" + "\r\n".join(lines[1:]) + "\r\n#  age: 50 \r\n# x #\r\n"
    (p / "r.hea").write_text(text, newline="")
    return p / "r"


def case_truncated(p):
    case_format16(p)
    (p / "r.dat").write_bytes((p / "r.dat").read_bytes()[:1000])
    return p / "r"


def case_fewer_signals_declared(p):
    """Finding 2: the header declares 2 of the 3 signals the file holds; read as declared, samples are scrambled."""
    case_format16(p)
    lines = (p / "r.hea").read_text().splitlines()
    (p / "r.hea").write_text("\n".join([lines[0].replace("r 3", "r 2"), lines[1], lines[2]]) + "\n")
    return p / "r"


def case_fewer_signals_declared_same_size(p):
    """2 of 3 signals declared, and the length stretched so the file size fits: only the checksums can tell."""
    case_fewer_signals_declared(p)
    (p / "r.hea").write_text((p / "r.hea").read_text().replace("r 2 100 400", "r 2 100 600"))
    return p / "r"


def case_checksum_mismatch(p):
    case_format16(p)
    raw = bytearray((p / "r.dat").read_bytes())
    raw[10] ^= 0x01
    (p / "r.dat").write_bytes(bytes(raw))
    return p / "r"


def case_checksum_mismatch212(p):
    case_format212(p)
    raw = bytearray((p / "r.dat").read_bytes())
    raw[30] ^= 0x01
    (p / "r.dat").write_bytes(bytes(raw))
    return p / "r"


def case_multi_segment(p):
    (p / "041s.hea").write_text(MULTI_SEGMENT_041S_HEA, newline="")
    return p / "041s"


def _record_line(line):
    def build(p):
        case_format16(p)
        (p / "r.hea").write_text((p / "r.hea").read_text().replace("r 3 100 400", line))
        return p / "r"
    return build


def case_missing_dat(p):
    case_format16(p)
    (p / "r.dat").unlink()
    return p / "r"


def case_missing_header(p):
    return p / "nope"


OK_CASES = {name[5:]: f for name, f in dict(globals()).items() if name.startswith("case_") and name[5:] in {
    "format16", "format16_negative_sums", "format16_signed_checksums", "format212", "format212_odd_length",
    "format80", "two_signal_files", "baseline", "no_sample_values16", "no_sample_values212",
    "no_length16", "no_length_or_rate16", "no_length212_real", "crlf_comments_everywhere"}}
BAD_CASES = {  # case: (exception, what the message must say)
    "truncated": (io.WfdbHeaderError, r"r\.hea declares 3 signals × 400 samples.*truncated"),
    "fewer_signals_declared": (io.WfdbHeaderError, r"r\.hea declares 2 signals × 400 samples.*fewer signals"),
    "fewer_signals_declared_same_size": (io.WfdbHeaderError, r"r\.hea: checksum mismatch"),
    "checksum_mismatch": (io.WfdbHeaderError, r"r\.hea: checksum mismatch in signals \['s2'\]"),
    "checksum_mismatch212": (io.WfdbHeaderError, r"r\.hea: checksum mismatch"),
    "multi_segment": (io.WfdbHeaderError, r"041s\.hea: '041s/2' is a multi-segment record"),
    "negative_rate": (io.WfdbHeaderError, r"r\.hea: sampling frequency '-100'"),
    "zero_rate": (io.WfdbHeaderError, r"r\.hea: sampling frequency '0'"),
    "exponent_rate": (io.WfdbHeaderError, r"r\.hea: sampling frequency '1e2'"),
    "negative_length": (io.WfdbHeaderError, r"r\.hea: number of samples '-400'"),
    "zero_length": (io.WfdbHeaderError, r"r\.hea: the record line 'r 3 100 0' declares 0 samples"),
    "no_signals": (io.WfdbHeaderError, r"r\.hea: the record line 'r 0 100 400' declares no signals"),
    "more_signal_lines": (io.WfdbHeaderError, r"r\.hea declares 2 signals but describes 3"),
    "missing_dat": (FileNotFoundError, r"r\.hea refers to signal file r\.dat, which is missing"),
    "missing_header": (FileNotFoundError, r"WFDB header not found: .*nope\.hea"),
}
BAD_BUILDERS = {
    "truncated": case_truncated, "fewer_signals_declared": case_fewer_signals_declared,
    "fewer_signals_declared_same_size": case_fewer_signals_declared_same_size,
    "checksum_mismatch": case_checksum_mismatch, "checksum_mismatch212": case_checksum_mismatch212,
    "multi_segment": case_multi_segment, "negative_rate": _record_line("r 3 -100 400"),
    "zero_rate": _record_line("r 3 0 400"), "exponent_rate": _record_line("r 3 1e2 400"),
    "negative_length": _record_line("r 3 100 -400"), "zero_length": _record_line("r 3 100 0"),
    "no_signals": _record_line("r 0 100 400"), "more_signal_lines": _record_line("r 2 100 400"),
    "missing_dat": case_missing_dat, "missing_header": case_missing_header,
}


@pytest.mark.parametrize("reader", READERS)
@pytest.mark.parametrize("case", sorted(OK_CASES))
def test_reader_reads_as_wfdb_does(tmp_path, case, reader):
    stem = OK_CASES[case](tmp_path)
    rec = READERS[reader](stem)
    ref, names, fs = reference(stem)
    assert rec.signal.dtype == np.float32 and rec.signal.shape == ref.shape
    np.testing.assert_array_equal(np.isnan(rec.signal), np.isnan(ref))  # "no sample" is NaN, never 0 mV
    np.testing.assert_allclose(rec.signal, ref, rtol=0, atol=1e-6)
    assert rec.lead_names == names and rec.fs == fs
    assert rec.comments == wfdb.rdheader(str(stem)).comments


@pytest.mark.parametrize("reader", READERS)
@pytest.mark.parametrize("case", sorted(BAD_CASES))
def test_reader_refuses_with_the_file_named(tmp_path, case, reader):
    stem = BAD_BUILDERS[case](tmp_path)
    exc, message = BAD_CASES[case]
    with pytest.raises(exc, match=message):
        READERS[reader](stem)


@pytest.mark.parametrize("case", sorted(OK_CASES) + sorted(BAD_CASES))
def test_both_readers_agree_on_every_file(tmp_path, case):
    stem = {**OK_CASES, **BAD_BUILDERS}[case](tmp_path)
    out = {}
    for name, reader in READERS.items():
        try:
            out[name] = reader(stem)
        except Exception as e:  # noqa: BLE001 - the kind and the file named are compared below
            out[name] = e
    a, b = out["read_wfdb"], out["read_wfdb16"]
    if isinstance(a, Exception) or isinstance(b, Exception):
        assert type(a) is type(b), (a, b)
        assert stem.name in str(a) and stem.name in str(b)
    else:
        np.testing.assert_array_equal(a.signal, b.signal)  # bit for bit, NaN included
        assert (a.fs, a.lead_names, a.units, a.comments) == (b.fs, b.lead_names, b.units, b.comments)


def test_no_sample_is_nan_not_zero(tmp_path):
    """Finding 2: read_wfdb gave 0 mV where WFDB stores "no sample" (-32768); wfdb and read_wfdb16 give NaN."""
    stem = case_no_sample_values16(tmp_path)
    for reader in READERS.values():
        x = reader(stem).signal
        assert np.isnan(x[[5, 6, 200], [0, 0, 2]]).all() and np.isnan(x).sum() == 3


def test_write_wfdb16_is_read_identically_by_wfdb(tmp_path):
    x = np.random.default_rng(3).normal(scale=0.8, size=(300, 4))
    io.write_wfdb16(tmp_path / "w", x, fs=250, lead_names=["I", "II", "V1", "V2"], comments=["age: 40"])
    rec = wfdb.rdrecord(str(tmp_path / "w"))
    np.testing.assert_allclose(io.read_wfdb16(tmp_path / "w").signal, rec.p_signal, atol=1e-6)
    assert rec.comments == ["age: 40"] and rec.sig_name == ["I", "II", "V1", "V2"]
    io.write_wfdb(tmp_path / "v", x, fs=250, lead_names=["I", "II", "V1", "V2"])  # written by wfdb.wrsamp
    np.testing.assert_array_equal(io.read_wfdb16(tmp_path / "v").signal, io.read_wfdb(tmp_path / "v").signal)


# ----------------------------------------------------------------------------------------------- annotations
def test_annotations_read_as_wfdb_writes_them(tmp_path):
    samples = np.array([10, 400, 800, 1290])
    wfdb.wrann("a", "atr", samples, symbol=["N", "V", "N", "A"], write_dir=str(tmp_path))
    s, sym = io.read_wfdb_annotation(tmp_path / "a", "atr")
    np.testing.assert_array_equal(s, samples)
    assert sym == ["N", "V", "N", "A"]


def test_empty_or_truncated_annotation_file_is_refused(tmp_path):
    """Finding 2: a zero-byte .atr read as 'no beats' would silently drop every label of a record."""
    (tmp_path / "a.atr").write_bytes(b"")
    with pytest.raises(io.FormatError, match=r"a\.atr: empty annotation file"):
        io.read_wfdb_annotation(tmp_path / "a", "atr")
    wfdb.wrann("b", "atr", np.array([10, 400, 800]), symbol=["N"] * 3, write_dir=str(tmp_path))
    raw = (tmp_path / "b.atr").read_bytes()
    (tmp_path / "b.atr").write_bytes(raw[:-2])
    with pytest.raises(io.FormatError, match=r"b\.atr: does not end with the WFDB end-of-file marker"):
        io.read_wfdb_annotation(tmp_path / "b", "atr")


@pytest.mark.parametrize("dataset", ["mitdb", "twadb"])
def test_loaders_refuse_records_that_lost_their_labels(tmp_path, dataset):
    """Finding 2: a zero-byte .atr made a 30-minute record silently lose all its labels."""
    import importlib

    mod = importlib.import_module(f"medrepro.data.datasets.{dataset}")
    root = mod.make_fixture(tmp_path / dataset, n_records=2, seconds=10.0)
    name, ext = mod.list_records(root)[0], {"mitdb": "atr", "twadb": "qrs"}[dataset]
    ann = root / f"{name}.{ext}"
    ann.write_bytes(b"")
    with pytest.raises(io.FormatError, match=rf"{name}\.{ext}: empty annotation file"):
        mod.read_record(root, name)
    ann.write_bytes(b"\x00\x00")  # a well-formed annotation file without annotations
    with pytest.raises(io.FormatError, match=rf"{name}\.{ext}: no annotations for a record of"):
        mod.read_record(root, name)
    wfdb.wrann(name, ext, np.array([100, 10**6]), symbol=["N", "N"], write_dir=str(root))
    with pytest.raises(io.FormatError, match=rf"{name}\.{ext}: annotations at samples 100..1000000, outside"):
        mod.read_record(root, name)


# --------------------------------------------------------------------------------------------- DICOM waveform
def test_dicom_waveform_errors_name_the_file(tmp_path):
    """Finding 2: read_dicom_waveform raised pydicom's own errors, without the path."""
    from pydicom import examples

    with pytest.raises(FileNotFoundError, match=r"nope\.dcm"):
        io.read_dicom_waveform(tmp_path / "nope.dcm")
    (tmp_path / "junk.dcm").write_bytes(b"junk" * 10)
    with pytest.raises(io.DicomError, match=r"junk\.dcm: not a readable DICOM file"):
        io.read_dicom_waveform(tmp_path / "junk.dcm")
    examples.ct.save_as(tmp_path / "ct.dcm")
    with pytest.raises(io.DicomError, match=r"ct\.dcm: has no WaveformSequence"):
        io.read_dicom_waveform(tmp_path / "ct.dcm")
    ecg = examples.get_path("waveform")
    with pytest.raises(io.DicomError, match=r"waveform_ecg\.dcm: has 2 waveform groups, group 5"):
        io.read_dicom_waveform(ecg, group=5)
    raw = ecg.read_bytes()
    (tmp_path / "cut.dcm").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(io.DicomError, match=r"cut\.dcm"):
        io.read_dicom_waveform(tmp_path / "cut.dcm")


def test_dicom_waveform_matches_pydicom(tmp_path):
    from pydicom import dcmread, examples

    sig, fs, names = io.read_dicom_waveform(examples.get_path("waveform"))
    ds = dcmread(examples.get_path("waveform"))
    np.testing.assert_allclose(sig, ds.waveform_array(0) / 1000.0)  # µV → mV
    assert fs == float(ds.WaveformSequence[0].SamplingFrequency) and names[:2] == ["I", "II"]


# ------------------------------------------------------------------------------------ DICOM and NIfTI images
def _dicom(path, pixels: np.ndarray, photometric: str, bits: int = 12, signed: bool = False):
    """A minimal valid DICOM image written by pydicom."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage, generate_uid

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID = meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID
    ds.Modality, ds.PatientID = "OT", "x"
    ds.Rows, ds.Columns = pixels.shape
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, photometric
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, bits, bits - 1
    ds.PixelRepresentation = int(signed)
    ds.PixelData = pixels.astype(np.int16 if signed else np.uint16).tobytes()
    ds.save_as(path, enforce_file_format=True)
    return path


@pytest.mark.parametrize("signed", [False, True])
def test_dicom_monochrome1_reads_as_the_same_image_in_monochrome2(tmp_path, signed):
    """MONOCHROME1 (minimum = white) is inverted over the stored range, not over the image's own maximum."""
    from pydicom import dcmread

    rng = np.random.default_rng(0)
    img = rng.integers(-500 if signed else 300, 1500, size=(6, 5))  # the image does not span the stored range
    stored1 = (-1 - img) if signed else (4095 - img)
    p2 = _dicom(tmp_path / "m2.dcm", img, "MONOCHROME2", signed=signed)
    p1 = _dicom(tmp_path / "m1.dcm", stored1, "MONOCHROME1", signed=signed)
    a, _ = io.read_dicom(p2)
    b, ds1 = io.read_dicom(p1)
    np.testing.assert_array_equal(a, dcmread(p2).pixel_array)  # MONOCHROME2: pydicom's pixels unchanged
    np.testing.assert_array_equal(b, a)
    assert np.array_equal(dcmread(p1).pixel_array, stored1) and ds1.PhotometricInterpretation == "MONOCHROME1"


def test_nifti_scaling_applied_as_nibabel_does(tmp_path):
    """NIfTI files store integers with scl_slope / scl_inter (as CT volumes do): read them as nibabel scales them."""
    import nibabel as nib

    raw = np.random.default_rng(0).integers(-1000, 3000, size=(6, 5, 4)).astype(np.int16)
    img = nib.Nifti1Image(raw, np.diag([0.7, 0.7, 2.5, 1.0]))
    img.header.set_slope_inter(0.5, -1024.0)
    nib.save(img, str(tmp_path / "ct.nii.gz"))
    ours = io.read_nifti(tmp_path / "ct.nii.gz", ndim=3)
    ref = nib.load(str(tmp_path / "ct.nii.gz"))
    np.testing.assert_allclose(ours.array, ref.get_fdata(), rtol=0, atol=1e-4)
    np.testing.assert_allclose(ours.array, raw * 0.5 - 1024.0, atol=1e-4)
    np.testing.assert_allclose(ours.spacing, (0.7, 0.7, 2.5), rtol=1e-6)


def test_array_only_unpickler_reads_arrays_and_refuses_any_other_global(tmp_path):
    # the restricted unpickler shared by the DEAP and THINGS-EEG2 loaders: numpy's own pickles of arrays and dicts
    # come back equal; a pickle naming any other callable (here os.system) is refused before it can run
    import os
    import pickle

    from medrepro.data.io import load_array_pickle

    obj = {"data": np.arange(12, dtype=np.float32).reshape(3, 4), "names": ["Oz", "Pz"], "n": 3}
    good = tmp_path / "good.pkl"
    good.write_bytes(pickle.dumps(obj, protocol=2))
    with open(good, "rb") as fh:
        back = load_array_pickle(fh)
    assert back["names"] == ["Oz", "Pz"] and back["n"] == 3
    np.testing.assert_array_equal(back["data"], obj["data"])

    class Evil:
        def __reduce__(self):
            return os.system, ("echo pwned",)

    bad = tmp_path / "bad.pkl"
    bad.write_bytes(pickle.dumps(Evil()))
    with open(bad, "rb") as fh, pytest.raises(pickle.UnpicklingError, match="refusing to load"):
        load_array_pickle(fh)
