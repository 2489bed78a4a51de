from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render
from django.views.decorators.http import require_GET

from minqing.lib.htmx import render_page
from minqing.regions.codes import pad
from minqing.regions.forms import picker_context
from minqing.regions.selectors import (
    get_region_for_user,
    region_children,
    region_path,
    region_search,
)


@login_required
@require_GET
def browse(request, code: str = ""):
    """The reach region (or one below it), its path and its children; with ?q= a name search."""
    region, _ = get_region_for_user(request.user, code or pad(request.user.reach))
    query = request.GET.get("q", "").strip()
    context = {
        "region": region,
        "path": region_path(region),
        "children": region_children(request.user, region),
        "query": query,
        "results": region_search(request.user, query, limit=50) if query else None,
    }
    return render_page(request, "regions/browse.html", "results", context)


@login_required
@require_GET
def picker(request):
    """The htmx half of the region picker: re-render it for the region just chosen."""
    name = request.GET.get("field", "region")
    try:
        max_level = min(max(int(request.GET.get("max", 5)), 1), 5)
    except ValueError:
        raise Http404 from None
    # Only the select that changed is sent; "请选择" there means its parent.
    code = request.GET.get(name) or request.GET.get("parent", "")
    context = {"picker": picker_context(request.user, name=name, code=code, max_level=max_level)}
    return render(request, "regions/picker.html", context)
