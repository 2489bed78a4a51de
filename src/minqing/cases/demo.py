"""A believable year of cases for the demo county (filled in below)."""


def build_demo_cases(*, seed: int = 1) -> str:
    return ""
