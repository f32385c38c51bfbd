"""What a person does and sees on a page, for the browser tests: sign in, follow links, look at
the layout, move with the keyboard, keep a screenshot."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote, urldefrag, urlsplit

from playwright.sync_api import ConsoleMessage, Error, Page

from tutormax.migrate import ROOT

SCREENSHOTS = ROOT / "var" / "screenshots"


class ConsoleErrors:
    """Collects what the browser reports as an error: console errors (CSP refusals, failed loads) and
    uncaught exceptions. The `page` fixture fails the test when any was collected."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def watch(self, page: Page) -> None:
        page.on("console", self._console)
        page.on("pageerror", self._exception)

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            source = (message.location or {}).get("url") or (message.page.url if message.page else "")
            self.errors.append(f"{message.text} ({source})")

    def _exception(self, error: Error) -> None:
        self.errors.append(f"uncaught {error.name}: {error.message}")


def width(page: Page) -> int:
    """The viewport width of `page` in CSS pixels (1280 or 390 in these tests)."""
    return page.viewport_size["width"]


def screenshot(page: Page, name: str) -> Path:
    """Save the whole page as var/screenshots/<name>-<width>.png (not committed) and return the path."""
    path = SCREENSHOTS / f"{name}-{width(page)}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=True)
    return path


def sign_in(page: Page, key: str, next_path: str | None = None) -> None:
    """Sign in through the form, as a person does; ends on the page the form sends to (home by default)."""
    page.goto("/dashboard/login" + (f"?next={quote(next_path)}" if next_path else ""))
    page.locator("#api_key").fill(key)
    page.locator("form[action='/dashboard/login'] [type=submit]").click()
    page.wait_for_url(lambda url: urlsplit(url).path != "/dashboard/login")
    assert page.get_by_role("button", name="Sign out").is_visible(), page.url


def check_links(page: Page) -> list[str]:
    """Fetch every link of the page with its cookies (page.request, redirects not followed); assert each
    stays on this site and answers 200 or 302. Returns the paths checked (with their query), sorted."""
    origin = urlsplit(page.url)
    hrefs = page.eval_on_selector_all("a[href]", "links => links.map(a => a.href)")
    broken, checked = {}, set()
    for href in hrefs:
        url, _fragment = urldefrag(href)
        parts = urlsplit(url)
        if (parts.scheme, parts.netloc) != (origin.scheme, origin.netloc):
            broken[href] = "leaves the site"
            continue
        if url in checked:
            continue
        checked.add(url)
        status = page.request.get(url, max_redirects=0).status
        if status not in (200, 302):
            broken[url] = status
    assert not broken, f"links of {page.url} that do not answer 200/302: {broken}"
    return sorted(urlsplit(url).path + (f"?{urlsplit(url).query}" if urlsplit(url).query else "") for url in checked)


def horizontal_overflow(page: Page) -> int:
    """How many CSS pixels the page is wider than the viewport (0: no horizontal scrolling)."""
    return page.evaluate("() => document.documentElement.scrollWidth - document.documentElement.clientWidth")


def widest(page: Page, limit: int = 5) -> list[str]:
    """The elements reaching furthest past the viewport's right edge (outside scroll regions), to say why a
    page scrolls sideways: `tag#id.class → right edge px`."""
    return page.evaluate("""(limit) => {
        const width = document.documentElement.clientWidth, found = [];
        for (const e of document.querySelectorAll("body *")) {
            if (e.closest(".scroll") && !e.matches(".scroll")) continue;
            const right = e.getBoundingClientRect().right;
            if (right > width + 0.5) found.push([right, e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") +
                (e.className && typeof e.className === "string" ? "." + e.className.split(" ").join(".") : "")]);
        }
        found.sort((a, b) => b[0] - a[0]);
        return found.slice(0, limit).map(([right, name]) => `${name} → ${Math.round(right)}px`);
    }""", limit)


def tab_to(page: Page, selector: str, max_presses: int = 80) -> int:
    """Press Tab until the focused element matches `selector`; return the presses it took (fails if never)."""
    for presses in range(1, max_presses + 1):
        page.keyboard.press("Tab")
        if page.evaluate("s => document.activeElement !== null && document.activeElement.matches(s)", selector):
            return presses
    raise AssertionError(f"{selector} not reached with {max_presses} Tab presses; focus is on {focused(page)}")


def focused(page: Page) -> dict:
    """The focused element as a person sees it: tag, id, text, and how focus is drawn
    (`indicated` is true when it has an outline or a box shadow)."""
    return page.evaluate("""() => {
        const e = document.activeElement;
        if (e === null || e === document.body) return {tag: "body", id: "", text: "", indicated: false};
        const s = getComputedStyle(e);
        const outline = s.outlineStyle !== "none" && parseFloat(s.outlineWidth) > 0;
        return {tag: e.tagName.toLowerCase(), id: e.id, text: (e.innerText || e.value || "").trim().slice(0, 80),
                focus_visible: e.matches(":focus-visible"),
                outline: outline ? `${s.outlineWidth} ${s.outlineStyle} ${s.outlineColor}` : "",
                box_shadow: s.boxShadow === "none" ? "" : s.boxShadow, indicated: outline || s.boxShadow !== "none"};
    }""")
