"""The HTML report: self-contained, with the fit's numbers, the allocation for the budgets asked, the backtests and
the provenance (input files with SHA-256); written atomically, never over the fit; and rendered in a real headless
Chromium (screenshot, DOM, console) when one is installed (CI installs it: .ci/run)."""

import hashlib
import io
import json
import os
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

import scalinglaws as sl
from scalinglaws.report import build_report, file_digest, record_inputs
from scalinglaws.store import load

from .helpers import DATA, run_cli

BUDGETS = "1e22,1e23,1e24"


@pytest.fixture(scope="module")
def fit_file(tmp_path_factory):
    """A fit written by the command line from the bundled Epoch AI points (so it records its input)."""
    from scalinglaws.cli import main

    folder = tmp_path_factory.mktemp("report")
    source = folder / "points.csv"
    shutil.copy(DATA / "example_points.csv", source)
    assert main(["fit", str(source), "--out", str(folder / "fit.json"), "--top-k", "2"]) == 0
    return folder / "fit.json"


@pytest.fixture(scope="module")
def report_file(fit_file):
    from scalinglaws.cli import main

    out = fit_file.parent / "report.html"
    assert main(["report", str(fit_file), "-o", str(out), "--budget", BUDGETS]) == 0
    return out


def test_fit_records_its_input_with_sha256(fit_file):
    recorded = json.loads(fit_file.read_text())["settings"]["inputs"]
    source = fit_file.parent / "points.csv"
    assert recorded == [{"path": str(source), "sha256": hashlib.sha256(source.read_bytes()).hexdigest(),
                         "bytes": source.stat().st_size}]
    assert load(fit_file).settings["inputs"][0]["sha256"] == recorded[0]["sha256"]  # it round-trips


def test_folder_digest_covers_names_and_contents(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x.log").write_text("loss 1\n")
    first = file_digest(tmp_path / "a")
    (tmp_path / "a" / "x.log").write_text("loss 2\n")
    second = file_digest(tmp_path / "a")
    assert first["files"] == 1 and first["sha256"] != second["sha256"]
    (tmp_path / "a" / "x.log").rename(tmp_path / "a" / "y.log")
    assert file_digest(tmp_path / "a")["sha256"] != second["sha256"]


def test_report_is_self_contained_and_holds_the_numbers(report_file, fit_file):
    page = report_file.read_text(encoding="utf-8")
    fit = load(fit_file)
    assert page.startswith("<!DOCTYPE html>") and '<meta name="viewport"' in page and "@media print" in page
    assert "@media (max-width: 40rem)" in page
    # nothing to fetch: no scripts, no stylesheets, no remote sources
    assert "<script" not in page and "<link" not in page and not re.search(r"(src|href)=\"(https?:)?//", page)
    images = re.findall(r'<img alt="[^"]*" src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert len(images) == 4  # the fit figure and the planning set
    for value in fit.values:
        assert f"{value:.6g}" in page
    # the allocation table: one row per budget, with its band
    allocation = re.search(r'<table id="allocation-table">.*?</table>', page, re.S).group(0)
    assert allocation.count("<tr>") == 1 + 3
    table = sl.compute_optimal(fit, [1e22, 1e23, 1e24])
    for row in table.itertuples():
        assert f"{row.loss:.4f} [{row.loss_lower:.4f}, {row.loss_upper:.4f}]" in allocation
    # the backtests of the calibrated band, and the provenance with the input's hash and the fit file's
    assert fit.model_error.describe() in page
    backtests = re.search(r'<table id="backtest-table">.*?</table>', page, re.S).group(0)
    assert backtests.count("<tr>") == 1 + len(fit.model_error.cuts)
    assert f"<td>{np.exp(fit.model_error.reach):.3g}x</td>" in backtests  # the farthest reach, as a factor
    assert fit.settings["inputs"][0]["sha256"] in page
    assert hashlib.sha256(fit_file.read_bytes()).hexdigest() in page
    assert f"scalinglaws {sl.__version__}" in page


def test_report_default_budgets_are_five_decades(capsys, fit_file, tmp_path):
    code, out, _ = run_cli(capsys, "report", fit_file, "-o", tmp_path / "r.html")
    assert code == 0 and "allocation for 5 budgets" in out and f"Wrote {tmp_path / 'r.html'}" in out
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    top = int(np.floor(np.log10(6 * np.max(load(fit_file).inputs["N"] * load(fit_file).inputs["D"]))))
    for k in range(top, top + 5):
        assert f"<td>{10.0 ** k:.3g}</td>" in page


def test_report_cli_format_json(capsys, fit_file, tmp_path):
    code, out, err = run_cli(capsys, "report", fit_file, "-o", tmp_path / "r.html", "--budget", "1e23",
                             "--format", "json")
    data = json.loads(out)
    assert code == 0 and list(data) == ["parameters", "allocation", "backtests"] and "Wrote" in err
    assert [r["parameter"] for r in data["parameters"]] == list(load(fit_file).names)
    assert [r["C"] for r in data["allocation"]] == [1e23]


def test_report_tables_and_summary(fit_file):
    report = build_report(load(fit_file), [1e23], source=fit_file)
    assert set(report.tables()) == {"parameters", "allocation", "backtests"}
    assert list(report.parameters["parameter"]) == list(load(fit_file).names)
    assert report.figures == ("fit", "loss_frontier", "allocation", "isoflops")
    assert "4 figures" in report.summary() and "allocation for 1 budgets" in report.summary()


def test_report_of_a_curve_fit_and_of_a_bootstrap(tmp_path):
    from scalinglaws.schedules import constant, wsd

    from .helpers import law_curves

    schedules = {"constant": constant(2000, 1e-3, warmup=100), "wsd": wsd(2000, 1e-3, cooldown=0.3, warmup=100)}
    curves = law_curves("lr-annealing", schedules, dict(L0=2.6, A=0.5, alpha=0.5, C=2.0, lam=0.99),
                        np.arange(50, 2000, 50), noise=0.003)
    curve_fit = sl.fit_curves(curves, "lr-annealing", schedules=schedules)
    report = build_report(curve_fit, schedules={"cosine 4k": "cosine:steps=4000,peak=1e-3,final=1e-4,warmup=100"})
    assert report.figures == ("fit", "schedules") and report.allocation is None
    assert "Compute-optimal allocation" not in report.html
    boot = sl.bootstrap(sl.fit("chinchilla", sl.read_points(DATA / "example_points.csv"), top_k=2), 8, seed=0,
                        progress=False)
    report = build_report(boot, [1e22])
    assert "(bootstrap)" in report.html and "no input files" in report.html


def test_report_cli_errors_and_never_overwrites_the_fit(capsys, fit_file, tmp_path):
    before = fit_file.read_bytes()
    code, _, err = run_cli(capsys, "report", fit_file, "-o", fit_file)
    assert code == 2 and err.startswith("scalinglaws: error:") and len(err.strip().splitlines()) == 1
    assert fit_file.read_bytes() == before
    code, _, err = run_cli(capsys, "report", tmp_path / "missing.json", "-o", tmp_path / "r.html")
    assert code == 2 and "missing.json" in err and not (tmp_path / "r.html").exists()
    source = json.loads(fit_file.read_text())["settings"]["inputs"][0]["path"]
    code, _, err = run_cli(capsys, "report", fit_file, "-o", source)  # nor over the data it was fitted to
    assert code == 2 and Path(source).read_bytes()[:2] != b"<!"


def test_record_inputs_on_a_bootstrap(tmp_path):
    path = tmp_path / "p.csv"
    shutil.copy(DATA / "example_points.csv", path)
    fit = sl.fit("chinchilla", sl.read_points(path), top_k=2)
    boot = sl.bootstrap(fit, 4, seed=0, progress=False)
    recorded = record_inputs(boot, [path, None])
    assert recorded.fit.settings["inputs"][0]["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert "inputs" not in fit.settings  # results are immutable: a new one is returned


# ------------------------------------------------------------------------------------------ a real browser

def _browser():
    """A headless Chromium driven by Selenium with the system chromedriver, or a skip saying what is missing."""
    required = os.environ.get("SCALINGLAWS_REQUIRE_BROWSER") == "1"
    missing = []
    try:
        from selenium import webdriver
    except ImportError:
        missing.append("the selenium package (dev extra)")
    binary = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    driver_path = shutil.which("chromedriver")
    if binary is None:
        missing.append("a Chromium browser (apt-get install chromium)")
    if driver_path is None:
        missing.append("chromedriver (apt-get install chromium-driver)")
    if missing:
        message = "no browser to render the report: missing " + ", ".join(missing)
        if required:
            pytest.fail(message)
        pytest.skip(message)
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--hide-scrollbars", "--force-device-scale-factor=1"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(driver_path), options=options)


@pytest.fixture(scope="module")
def browser():
    driver = _browser()
    yield driver
    driver.quit()


def _screenshot(driver):
    import matplotlib.pyplot as plt

    return plt.imread(io.BytesIO(driver.get_screenshot_as_png()), format="png")


def test_report_renders_in_a_real_browser(browser, report_file, fit_file):
    browser.set_window_size(1200, 900)
    browser.get(report_file.resolve().as_uri())  # from disk, no server
    assert browser.execute_script("return document.readyState") == "complete"
    # every figure decoded to a real image
    sizes = browser.execute_script(
        "return Array.from(document.images).map(i => [i.complete, i.naturalWidth, i.naturalHeight])")
    assert len(sizes) == 4 and all(done and w > 500 and h > 300 for done, w, h in sizes)
    # the DOM holds the fitted numbers
    from selenium.webdriver.common.by import By

    table = browser.find_element(By.ID, "parameter-table").text
    fit = load(fit_file)
    for name, value in fit.params.items():
        assert name in table and f"{value:.6g}" in table
    assert browser.title == "Scaling-law report: chinchilla"
    # a screenshot of the expected size, not blank
    width, height = browser.execute_script("return [window.innerWidth, window.innerHeight]")
    image = _screenshot(browser)
    assert image.shape[:2] == (height, width) and image[..., :3].std() > 0.05
    # no console errors (nothing failed to load or run)
    errors = [entry for entry in browser.get_log("browser") if entry["level"] in ("SEVERE", "ERROR")]
    assert errors == []


def test_report_fits_a_phone_screen(browser, report_file):
    browser.set_window_size(390, 844)
    browser.get(report_file.resolve().as_uri())
    inner, scroll = browser.execute_script("return [window.innerWidth, document.documentElement.scrollWidth]")
    assert scroll <= inner  # no sideways scrolling of the page: wide tables scroll inside their box
    widths = browser.execute_script("return Array.from(document.images).map(i => i.getBoundingClientRect().width)")
    assert all(0 < w <= inner for w in widths)
    image = _screenshot(browser)
    assert image.shape[1] == inner and image[..., :3].std() > 0.05
