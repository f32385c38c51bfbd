"""The doors a person opens first: the bare address and the API docs (Swagger UI, served without a CDN)."""

from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import urlsplit

from playwright.sync_api import Page, Route, expect

from tests.browser.helpers import screenshot
from tutormax.web.openapi import DOCS_CSP

DOCS_ASSETS = {
    ("link", "/openapi/swagger-ui/swagger-ui.css"),
    ("link", "/openapi/swagger-ui/favicon-32x32.png"),
    ("script", "/openapi/swagger-ui/swagger-ui-bundle.js"),
    ("script", "/openapi/swagger-ui/tutormax-init.js"),
}


class References(HTMLParser):
    """Every URL a page references (href, src) with its tag, and whether any script is inline."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[tuple[str, str]] = []
        self.inline_scripts = 0
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list) -> None:
        attrs = dict(attrs)
        for name in ("href", "src"):
            if attrs.get(name):
                self.urls.append((tag, attrs[name]))
        self._in_script = tag == "script" and not attrs.get("src")

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline_scripts += 1

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False


def test_the_bare_address_redirects_to_the_dashboard(client):
    response = client.get("/")
    assert (response.status_code, response.headers["Location"]) == (302, "/dashboard/")
    # The operators' endpoints are untouched.
    assert client.get("/healthz").get_json() == {"status": "ok"}
    # Browsers ask every site for an icon: answered without an error, so their consoles stay clean.
    icon = client.get("/favicon.ico")
    assert (icon.status_code, icon.data) == (204, b"")


def test_swagger_ui_comes_from_this_origin_and_links_the_document(client):
    page = client.get("/openapi/docs")
    assert page.status_code == 200 and page.mimetype == "text/html"
    refs = References()
    refs.feed(page.get_data(as_text=True))
    # Same-origin paths only (no scheme, no host, no protocol-relative //cdn…), no inline script.
    assert all(not urlsplit(url).scheme and not urlsplit(url).netloc for _, url in refs.urls), refs.urls
    assert refs.inline_scripts == 0
    assert set(refs.urls) == DOCS_ASSETS | {("a", "/openapi/openapi.json")}
    assert page.headers["Content-Security-Policy"] == DOCS_CSP
    assert "script-src 'self';" in DOCS_CSP and "unsafe-inline" not in DOCS_CSP

    expected = {"swagger-ui.css": ("text/css", b".swagger-ui"),
                "favicon-32x32.png": ("image/png", b"\x89PNG"),
                "swagger-ui-bundle.js": ("text/javascript", b"SwaggerUIBundle"),
                "tutormax-init.js": ("text/javascript", b"SwaggerUIBundle(config)")}
    for _, url in sorted(DOCS_ASSETS):
        asset = client.get(url)
        mimetype, marker = expected[url.rsplit("/", 1)[1]]
        assert (asset.status_code, asset.mimetype) == (200, mimetype), url
        assert marker in asset.data, url
    document = client.get("/openapi/openapi.json")
    assert document.status_code == 200 and document.get_json()["info"]["title"] == "TutorMax"
    # Nothing outside the dist is reachable through the asset route.
    assert client.get("/openapi/swagger-ui/../../__init__.py").status_code == 404



def test_swagger_ui_renders_every_operation_without_the_internet(page: Page, live_server: str):
    offsite: list[str] = []

    def refuse_offsite(route: Route) -> None:
        # As on a network without the internet: whatever is not asked of the app itself is refused, and noted.
        if route.request.url.startswith(f"{live_server}/"):
            route.continue_()
        else:
            offsite.append(route.request.url)
            route.abort()

    page.route("**/*", refuse_offsite)
    page.goto("/openapi/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("TutorMax")
    document = page.request.get("/openapi/openapi.json").json()
    operations = sum(1 for item in document["paths"].values() for method in item
                     if method in ("get", "put", "post", "delete", "patch"))
    assert operations >= 18
    # One block per operation of the document (listed, collapsed).
    expect(page.locator(".opblock")).to_have_count(operations)
    assert offsite == []
    screenshot(page, "api-docs")
