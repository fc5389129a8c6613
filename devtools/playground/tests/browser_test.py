"""Browser test of the playground page: headless Chromium (the system's Debian package, driven
by Playwright for Python; Playwright's own browser downloads are never used) opens the page
the front serves at PLAY_URL, fills the form, waits for the verified recipe, and checks that
the energy chart, the nutrient bars and the checks table render and that the language toggle
switches the labels. Saves a screenshot under target/ and prints the test's time.

Run through `make test-browser`, which starts the front and sets PLAY_URL and CHROMIUM.
"""

import os
import sys
import time
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
RECIPE_TIMEOUT_MS = 60_000
SCREENSHOT = Path(os.environ.get("BROWSER_SCREENSHOT", "target/playground-browser.png"))
SCREENSHOT_EN = SCREENSHOT.with_name(SCREENSHOT.stem + "-en" + SCREENSHOT.suffix)


def main() -> int:
    url = os.environ.get("PLAY_URL")
    if not url:
        print("browser test: PLAY_URL is not set (run it through `make test-browser`)", file=sys.stderr)
        return 2
    chromium = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    started = time.monotonic()
    failures = []
    console_errors = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 1600}, locale="ko-KR")
            page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: console_errors.append(str(e)))
            page.goto(url + "/")
            expect(page.locator("h1")).to_have_text("AI 셰프 플레이그라운드")

            page.select_option("#target", "keto")
            page.fill("#conditions", "고혈압")
            page.fill("#allergies", "땅콩, 우유")
            page.fill("#servings", "2")
            page.select_option("#language", "ko")
            page.select_option("#model", "sonnet")
            page.check("input[name=mode][value=sync]")
            page.click("#submit")

            expect(page.locator("#result")).to_be_visible(timeout=RECIPE_TIMEOUT_MS)
            expect(page.locator("#recipe-name")).not_to_be_empty()
            slices = page.locator("#energy-svg [data-macro]")
            checks = page.locator("#checks-table tbody tr")
            bars = page.locator("#nutrient-bars .bar-row")
            expect(slices.first).to_be_visible()
            expect(checks.first).to_be_visible()
            summary = {
                "slices": slices.count(),
                "checks": checks.count(),
                "bars": bars.count(),
                "limit_marks": page.locator("#nutrient-bars .bar-limit").count(),
                "ingredients": page.locator("#recipe-ingredients li").count(),
            }
            if summary["slices"] < 2:
                failures.append(f"energy chart has {summary['slices']} slices; a keto recipe has fat and protein at least")
            if summary["checks"] < 3:
                failures.append(f"checks table has {summary['checks']} rows")
            if summary["limit_marks"] < 1:
                failures.append("no nutrient bar shows a limit")
            allergen_rows = page.locator("#checks-table tbody tr", has_text="allergen:땅콩")
            if allergen_rows.count() != 1:
                failures.append("the allergen check for 땅콩 is not in the table")
            failed_rows = page.locator("#checks-table tbody tr.fail").count()
            if failed_rows:
                failures.append(f"{failed_rows} failed checks shown on a 200 recipe")
            tokens = page.locator("#meta dd").all_inner_texts()
            if not any(text.isdigit() and int(text) > 0 for text in tokens):
                failures.append(f"no token count in the meta list: {tokens}")

            SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOT), full_page=True)

            page.click("#lang-en")
            expect(page.locator("h1")).to_have_text("AI Chef playground")
            expect(page.locator("#checks-table thead th").first).to_have_text("Rule")
            passes = page.locator("#checks-table tbody td.pass").first.inner_text()
            if "pass" not in passes:
                failures.append(f"the checks table did not switch language: {passes!r}")

            page.screenshot(path=str(SCREENSHOT_EN), full_page=True)

            # The stream option goes to the function URL; whether the function streams (SSE
            # progress) or answers at once, the page must end with a verified recipe.
            page.check("input[name=mode][value=stream]")
            page.click("#submit")
            expect(page.locator("#progress li").first).to_be_visible()
            expect(page.locator("#result")).to_be_visible(timeout=RECIPE_TIMEOUT_MS)
            expect(page.locator("#checks-table tbody tr").first).to_be_visible()
            summary["stream_progress_lines"] = page.locator("#progress li").count()
        finally:
            browser.close()
    elapsed = time.monotonic() - started
    if console_errors:
        failures.append(f"console errors: {console_errors}")
    print(f"browser test: {summary}")
    print(f"browser test: screenshots {SCREENSHOT} (Korean), {SCREENSHOT_EN} (English)")
    print(f"browser test: {elapsed:.1f} s")
    for failure in failures:
        print(f"browser test: FAIL: {failure}", file=sys.stderr)
    print(f"{0 if failures else 1} passed, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
