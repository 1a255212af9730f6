"""The API's documentation page in a real browser: Swagger UI comes from the agency's own
server, works under the site's strict Content-Security-Policy, and asks nobody else for
anything (N4)."""

from urllib.parse import urlsplit

import pytest

pytestmark = pytest.mark.browser


def test_the_api_documentation_renders_from_our_own_server_under_our_policy(server, new_context):
    page = new_context().new_page()
    requests: list[str] = []
    refused: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.on(
        "console",
        lambda message: (
            refused.append(message.text)
            if "Content Security Policy" in message.text or "Refused to" in message.text
            else None
        ),
    )

    page.add_init_script(
        "window.violations = [];"
        "document.addEventListener('securitypolicyviolation',"
        " (event) => window.violations.push(event.violatedDirective + ' ' + event.blockedURI));"
    )

    response = page.goto("/api/v1/docs")

    assert response is not None and response.status == 200
    assert "script-src 'self'" in response.headers["content-security-policy"]
    # Swagger UI read the schema and lists the operations.
    page.wait_for_selector(".swagger-ui .opblock", timeout=30_000)
    assert page.locator(".swagger-ui .info .title").inner_text().startswith("videotermin")
    summaries = page.locator(".opblock-summary-path").all_inner_texts()
    assert any("/api/v1/appointments" in text for text in summaries)
    assert page.locator(".swagger-ui .auth-wrapper button.authorize").count() == 1
    # Nothing came from anywhere else, and the policy refused nothing the page needs.
    own = urlsplit(server.url).netloc
    elsewhere = [url for url in requests if urlsplit(url).netloc not in (own, "")]
    assert elsewhere == []
    assert any(url.endswith("/static/ninja/swagger-ui-bundle.js") for url in requests)
    assert any(url.endswith("/api/v1/openapi.json") for url in requests)
    assert refused == []
    assert page.evaluate("window.violations") == []
