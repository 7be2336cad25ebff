"""The demo report in a real browser: headless Chromium (Debian's package, installed
by ``make test`` if missing) driven by Playwright's Python package with the system
browser as its executable -- Playwright's own browsers are never downloaded.

Checks that the page renders with no console errors, that the controls work (tabs for
population and outcome, the league-table order, sorting the estimates, expanding a
rating to its domains, links from a recommendation to its estimates), and that a table
and a figure are visible.  A screenshot is saved to ``test-artifacts/`` (or
``$NETGRADE_ARTIFACTS``) for inspection.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("NETGRADE_CHROMIUM", "/usr/bin/chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(os.environ.get("NETGRADE_ARTIFACTS", Path(__file__).resolve().parents[1] / "test-artifacts"))


@pytest.fixture(scope="module")
def page(spine_demo):
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), f"{CHROMIUM} not found: `make test` installs Debian's chromium (apt-get install chromium)"
    messages: list[tuple[str, str]] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        pg = browser.new_page(viewport={"width": 1280, "height": 900})
        pg.on("console", lambda m: messages.append((m.type, m.text)))
        pg.on("pageerror", lambda e: messages.append(("pageerror", str(e))))
        pg.goto(spine_demo.report.resolve().as_uri())
        pg.wait_for_load_state("load")
        pg.messages = messages
        yield pg
        browser.close()


def visible(loc) -> bool:
    return loc.count() > 0 and loc.first.is_visible()


def test_renders_without_console_errors_and_saves_a_screenshot(page):
    assert page.title().startswith("Interventional procedures for chronic spine pain")
    assert [m for m in page.messages if m[0] in ("error", "pageerror", "warning")] == []
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "report.png"
    page.screenshot(path=str(shot), full_page=False)
    assert shot.stat().st_size > 10_000


def test_a_table_and_a_figure_are_visible(page):
    page.click("a.tab >> nth=0")
    panel = page.locator("section.panel:visible")
    sof = panel.locator("table.netgrade-sof")
    sof.scroll_into_view_if_needed()
    assert sof.is_visible()
    assert sof.locator("tbody tr").count() >= 10
    img = panel.locator("figure img").first
    img.scroll_into_view_if_needed()
    assert img.is_visible()
    assert img.evaluate("i => i.complete && i.naturalWidth") > 100
    box = img.bounding_box()
    assert box["width"] > 200 and box["height"] > 150


def test_tabs_switch_population(page):
    tabs = page.locator("a.tab")
    assert tabs.count() == 2
    tabs.nth(1).click()
    assert page.locator("#p--radicular--pain").is_visible()
    assert not page.locator("#p--axial--pain").is_visible()
    assert tabs.nth(1).get_attribute("aria-selected") == "true"
    tabs.nth(0).click()
    assert page.locator("#p--axial--pain").is_visible()
    assert not page.locator("#p--radicular--pain").is_visible()


def test_rating_expands_to_its_domains(page):
    page.click("a.tab >> nth=0")
    button = page.locator("#p--axial--pain button.expand").first
    rows = page.locator("#p--axial--pain tr.domains").first
    assert not rows.is_visible() and button.get_attribute("aria-expanded") == "false"
    button.click()
    assert rows.is_visible() and button.get_attribute("aria-expanded") == "true"
    assert rows.locator("tbody tr").count() == 6
    button.click()
    assert not rows.is_visible()


def test_league_table_can_be_ordered_by_p_score(page):
    page.click("a.tab >> nth=0")
    table = page.locator("#league-p--axial--pain")
    order = json.loads(table.get_attribute("data-order-pscore"))
    page.select_option("#order-p--axial--pain", "pscore")
    rows = table.locator("tbody tr")
    assert [rows.nth(i).get_attribute("data-row") for i in range(rows.count())] == order
    scores = [float(rows.nth(i).locator("td.pscore").get_attribute("data-value")) for i in range(rows.count())]
    assert scores == sorted(scores, reverse=True)
    cols = table.locator("thead th[data-col]")
    assert [cols.nth(i).get_attribute("data-col") for i in range(cols.count())] == order
    # cells follow their columns: the diagonal stays on the diagonal
    for i in range(rows.count()):
        assert rows.nth(i).locator("td").nth(i).get_attribute("class") == "diag"
    page.select_option("#order-p--axial--pain", "network")
    assert rows.first.get_attribute("data-row") == "sham"


def test_estimates_sort_by_column(page):
    page.click("a.tab >> nth=0")
    table = page.locator("#estimates-p--axial--pain")
    table.locator("thead th", has_text="Estimate").click()
    values = [float(v) for v in table.locator("tbody.rating").evaluate_all("bs => bs.map(b => b.getAttribute('data-sort-2'))")]
    assert values == sorted(values) and len(values) == 11  # 12 treatments, each against sham
    table.locator("thead th", has_text="Estimate").click()
    values = [float(v) for v in table.locator("tbody.rating").evaluate_all("bs => bs.map(b => b.getAttribute('data-sort-2'))")]
    assert values == sorted(values, reverse=True)


def test_recommendation_links_open_the_estimate(page):
    page.click("a.tab >> nth=0")
    link = page.locator("#rec--radicular-epidural a.trace").first
    target = link.get_attribute("href")[1:]
    link.click()
    assert page.locator("#p--radicular--pain").is_visible()
    assert page.locator(f"[id='{target}']").is_visible()
