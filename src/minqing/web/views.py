from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from minqing.accounts.roles import Role
from minqing.regions.codes import pad
from minqing.regions.models import Region
from minqing.regions.selectors import region_counts_below
from minqing.web.today import today_for


@login_required
def home(request):
    user = request.user
    return render(
        request,
        "web/home.html",
        {
            "reach": Region.objects.filter(code=pad(user.reach)).first(),
            "role_label": Role(user.role).label,
            "below": region_counts_below(user),
            "today": today_for(user),
        },
    )
