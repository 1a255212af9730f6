"""Browser and operating system names from a User-Agent header, for the counselor's view."""

from ua_parser import parse


def describe_user_agent(user_agent: str) -> tuple[str, str]:
    """Return ("Chrome 131", "Android 14")-style names; empty strings when unknown."""
    result = parse(user_agent[:512])
    browser = os_name = ""
    if result.user_agent is not None:
        browser = " ".join(filter(None, [result.user_agent.family, result.user_agent.major]))
    if result.os is not None:
        os_name = " ".join(filter(None, [result.os.family, result.os.major]))
    return browser[:100], os_name[:100]
