from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from minqing.accounts.roles import Role
from minqing.regions.codes import pad
from minqing.regions.models import Region
from minqing.regions.selectors import region_counts_below, villages_per_township
from minqing.web.today import today_for


@login_required
def home(request):
    user = request.user
    per_township = villages_per_township(user) if len(user.reach) <= 6 else []
    return render(
        request,
        "web/home.html",
        {
            "reach": Region.objects.filter(code=pad(user.reach)).first(),
            "role_label": Role(user.role).label,
            "below": region_counts_below(user),
            "today": today_for(user),
            "village_chart": {
                "series": "村（社区）数",
                "labels": [name for name, _ in per_township],
                "values": [n for _, n in per_township],
            }
            if per_township
            else None,
        },
    )
