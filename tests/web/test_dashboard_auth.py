"""Dashboard sign-in, sign-out, CSRF and session checks through the Flask test client on the real stack."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import update

from tests.helpers import CSRF, csrf_from, sign_in
from tutormax.db import session_scope
from tutormax.models.auth import ApiKey
from tutormax.web.auth import create_api_key, hash_key


def test_pages_redirect_to_sign_in_when_signed_out(client, keys):
    for path in ("/dashboard/", "/dashboard/classes/c1", "/dashboard/classes/c1/students/s1", "/dashboard/tutors/t1"):
        response = client.get(path)
        assert response.status_code == 302, path
        assert response.headers["Location"].startswith("/dashboard/login?next="), response.headers["Location"]


def test_login_form_has_csrf_and_missing_or_wrong_csrf_is_400(client, keys):
    page = client.get("/dashboard/login")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'name="api_key"' in html and CSRF.search(html)
    assert client.post("/dashboard/login", data={"api_key": keys["reader"]}).status_code == 400
    assert client.post("/dashboard/login", data={"api_key": keys["reader"], "csrf_token": "forged"}).status_code == 400
    # The 400 is a page, not the API's JSON, and nobody got signed in.
    assert client.get("/dashboard/").status_code == 302


def test_unknown_key_is_401_with_the_form_and_a_key_without_read_is_403(client, keys):
    response = client.post("/dashboard/login", data={"api_key": "tmx_not-a-key", "csrf_token": csrf_from(client)})
    html = response.get_data(as_text=True)
    assert response.status_code == 401
    assert "unknown or has been revoked" in html and 'name="api_key"' in html
    response = client.post("/dashboard/login", data={"api_key": keys["writer"], "csrf_token": csrf_from(client)})
    assert response.status_code == 403
    assert "lacks the `read` scope" in response.get_data(as_text=True)
    assert client.get("/dashboard/").status_code == 302


def test_good_key_signs_in_keeping_only_the_key_id_in_a_safe_cookie(app, client, keys):
    data = {"api_key": keys["reader"], "csrf_token": csrf_from(client)}
    response = client.post("/dashboard/login", data=data)
    assert response.status_code == 302 and response.headers["Location"] == "/dashboard/"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    value = cookie.split(";", 1)[0].split("=", 1)[1]
    stored = app.session_interface.get_signing_serializer(app).loads(value)
    with session_scope() as db:
        key_id = db.query(ApiKey.id).filter(ApiKey.key_hash == hash_key(keys["reader"])).scalar()
    # Only the key's id, the sign-in time and a fresh CSRF token: never the key itself.
    assert set(stored) == {"key_id", "signed_in_at", "csrf_token"} and stored["key_id"] == key_id
    assert keys["reader"] not in cookie and stored["csrf_token"] != data["csrf_token"]
    home = client.get("/dashboard/")
    html = home.get_data(as_text=True)
    assert home.status_code == 200
    assert "Signed in as <strong>test-reader</strong>" in html and "All classes" in html
    assert home.headers["Cache-Control"] == "no-store"


def test_sign_in_returns_to_the_page_asked_for_but_never_off_site(app, keys):
    client = app.test_client()
    assert sign_in(client, keys["reader"], "/dashboard/tutors/t1") == "/dashboard/tutors/t1"
    client = app.test_client()
    assert sign_in(client, keys["reader"], "https://evil.example/") == "/dashboard/"
    client = app.test_client()
    assert sign_in(client, keys["reader"], "//evil.example/dashboard/") == "/dashboard/"


def test_logout_needs_csrf_and_signs_out(app, keys):
    client = app.test_client()
    sign_in(client, keys["reader"])
    assert client.post("/dashboard/logout").status_code == 400
    assert client.get("/dashboard/").status_code == 200
    token = csrf_from(client, "/dashboard/")
    response = client.post("/dashboard/logout", data={"csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"] == "/dashboard/login"
    assert client.get("/dashboard/").status_code == 302


def test_revoked_key_is_signed_out_at_the_next_page(app, keys, uid):
    key = create_api_key(f"{uid}-revoked", ["read"])
    client = app.test_client()
    sign_in(client, key)
    assert client.get("/dashboard/").status_code == 200
    with session_scope() as db:
        db.execute(update(ApiKey).where(ApiKey.key_hash == hash_key(key)).values(revoked_at=datetime.now(UTC)))
    response = client.get("/dashboard/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/dashboard/login")
    # The session is gone too: signing the key back in is refused.
    response = client.post("/dashboard/login", data={"api_key": key, "csrf_token": csrf_from(client)})
    assert response.status_code == 401


def test_stylesheet_is_served_by_the_blueprint(client):
    response = client.get("/dashboard/static/dashboard.css")
    assert response.status_code == 200 and "text/css" in response.headers["Content-Type"]
    assert ".cell.band-mastered" in response.get_data(as_text=True)


def test_every_dashboard_url_answers_an_html_page_and_the_api_keeps_json(app, client, keys):
    """A mistyped page, an id holding a '/', a wrong method: HTML pages with the dashboard's headers;
    an unknown API path stays a JSON error."""
    reader = app.test_client()
    sign_in(reader, keys["reader"])
    for method, path, code in (("GET", "/dashboard/nope", 404),
                               ("GET", "/dashboard/classes/a/b/c/d", 404),
                               ("GET", "/dashboard/tutors/t/extra", 404),
                               ("POST", "/dashboard/classes/x", 405)):
        response = reader.open(path, method=method)
        html = response.get_data(as_text=True)
        assert response.status_code == code, path
        assert response.mimetype == "text/html", path
        assert f"<h1>{code} · " in html and "Back to the dashboard" in html, path
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["Content-Security-Policy"].startswith("default-src 'none'")
    api = reader.get("/api/v1/nope")
    assert api.status_code == 404 and api.mimetype == "application/json"
    assert api.get_json()["code"] == 404 and api.get_json()["status"] == "Not Found"
