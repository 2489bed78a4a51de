from ninja import Query, Router, Schema

from minqing.regions.codes import pad
from minqing.regions.selectors import (
    get_region_for_user,
    region_children,
    region_path,
    region_search,
)

router = Router(tags=["行政区划"])


class RegionOut(Schema):
    code: str
    name: str
    short_name: str
    level: int
    parent_id: str | None
    retired_in: int | None


class RegionDetail(RegionOut):
    path: list[RegionOut]


class ChildrenQuery(Schema):
    parent: str | None = None


@router.get("", response=list[RegionOut], summary="下级区划（不带 parent 时为本人管辖的区划）")
def children(request, filters: Query[ChildrenQuery]):
    if not filters.parent:
        # The top a user can open is their reach; the ancestors above it are names in a
        # region's path, and listing them would lead to a parent= that is 404.
        return [get_region_for_user(request.user, pad(request.user.reach))[0]]
    parent = get_region_for_user(request.user, filters.parent)[0]
    return list(region_children(request.user, parent))


@router.get("/search", response=list[RegionOut], summary="按名称搜索管辖范围内的区划")
def search(request, q: str):
    return region_search(request.user, q)


@router.get("/{code}", response=RegionDetail, summary="区划详情")
def detail(request, code: str):
    region, _ = get_region_for_user(request.user, code)
    return RegionDetail(**RegionOut.from_orm(region).dict(), path=region_path(region))
