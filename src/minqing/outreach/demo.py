"""The demo county's outreach (filled in below)."""


def build_demo_outreach(*, seed: int = 1) -> str:
    return ""
