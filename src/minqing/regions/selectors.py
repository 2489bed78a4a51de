"""Reads of the region tree as a user sees it: their reach, and the ancestors above it (whose
names they need for breadcrumbs and pickers), never a sibling branch."""

from django.db.models import Count, F, Q, QuerySet
from django.http import Http404

from minqing.regions.codes import LEVEL_DIGITS, is_code, pad, prefix_of
from minqing.regions.models import Region, prefix_q


def ancestor_codes(prefix: str) -> list[str]:
    """Padded codes of the regions above a reach prefix (and the prefix's own region)."""
    return [pad(prefix[:d]) for d in LEVEL_DIGITS.values() if d <= len(prefix)]


def regions_visible(user) -> QuerySet[Region]:
    """The user's reach and its ancestors."""
    return Region.objects.filter(
        prefix_q("code", user.reach) | Q(code__in=ancestor_codes(user.reach))
    )


def get_region_for_user(user, code: str) -> tuple[Region, bool]:
    """A region within the user's reach; its ancestors and everything else are 404."""
    if not is_code(code) or not user.reaches(code):
        raise Http404
    region = Region.objects.filter(code=code).first()
    if region is None:
        raise Http404
    return region, False  # the region tree is reference data: nobody edits it by hand


def region_children(user, region: Region | None) -> QuerySet[Region]:
    """Active children of a region (the provinces for None) that the user may see."""
    qs = regions_visible(user).filter(retired_in__isnull=True)
    qs = qs.filter(parent=region) if region else qs.filter(level=1)
    return qs.order_by("code")


def region_path(region: Region) -> list[Region]:
    """The region and its ancestors, province first, in one query."""
    codes = ancestor_codes(prefix_of(region.code))
    return list(Region.objects.filter(code__in=codes).order_by("level"))


def region_search(user, query: str, *, limit: int = 20) -> list[Region]:
    """Regions in reach whose name contains ``query``, villages last, active first."""
    query = query.strip()
    if not query:
        return []
    qs = Region.objects.filter(prefix_q("code", user.reach)).filter(
        Q(short_name__contains=query) | Q(name__contains=query)
    )
    return list(qs.order_by(F("retired_in").asc(nulls_first=True), "level", "code")[:limit])


def region_counts_below(user) -> dict[int, int]:
    """{level: number of active regions} strictly below the user's reach region."""
    rows = (
        Region.objects.filter(prefix_q("code", user.reach), retired_in__isnull=True)
        .exclude(code=pad(user.reach))
        .values_list("level")
        .annotate(n=Count("code"))
    )
    return dict(rows)


def villages_per_township(user) -> list[tuple[str, int]]:
    """(township short name, active villages) for the townships in the user's reach."""
    townships = dict(
        Region.objects.filter(
            prefix_q("code", user.reach), level=4, retired_in__isnull=True
        ).values_list("code", "short_name")
    )
    counts = dict(
        Region.objects.filter(prefix_q("code", user.reach), level=5, retired_in__isnull=True)
        .values_list("parent_id")
        .annotate(n=Count("code"))
    )
    return [(name, counts.get(code, 0)) for code, name in sorted(townships.items())]
